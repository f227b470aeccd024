import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'

export type WalCheckpointerOptions = {
  /** The connection that writes; its automatic checkpoints are turned off while the thread runs. */
  sqlite: Database.Database
  /** How often the thread checkpoints. */
  intervalMs?: number
  /** WAL length (pages) past which a checkpoint briefly holds the writer back to restart it. */
  restartPages?: number
  /** The thread failed: checkpoints are back on the writer (SQLite's default), the service goes on. */
  onError?: (error: unknown) => void
}

export type WalCheckpointer = {
  /** Frames in the WAL at the last checkpoint, and how many of them it copied. */
  readonly last: { log: number; checkpointed: number } | undefined
  /**
   * Asks the thread to close its connection and end, and resolves once it has. Close the writer
   * after this: the last connection to close is the one that checkpoints and removes the WAL.
   */
  stop(): Promise<void>
}

/** SQLite's default `wal_autocheckpoint`, in pages. */
const DEFAULT_AUTOCHECKPOINT = 1000

/**
 * Moves WAL checkpoints off the event loop, onto a thread with its own connection.
 *
 * In WAL mode the committing connection runs a checkpoint once the WAL passes 1,000 pages
 * (https://sqlite.org/wal.html#automatic_checkpoint): it copies those pages into the database
 * file and fsyncs it, tens of milliseconds during which a Node process answers nothing. With
 * random codes every insert dirties a random leaf of the code index, so under load that is
 * every few hundred creates. Here the writer never checkpoints (`wal_autocheckpoint = 0`); a
 * worker thread runs a PASSIVE checkpoint every `intervalMs`, which never blocks the writer or
 * readers, and the writer restarts the WAL from its head once a checkpoint has copied it all.
 * If the thread dies, the writer's automatic checkpoint comes back: slower, never unbounded.
 *
 * @example
 * ```ts
 * const checkpointer = startWalCheckpointer({ sqlite, onError: (err) => logger.error({ err }) })
 * await checkpointer.stop() // then sqlite.close(), which checkpoints what is left
 * ```
 */
export function startWalCheckpointer({
  sqlite,
  intervalMs = 100,
  restartPages = 4000,
  onError,
}: WalCheckpointerOptions): WalCheckpointer {
  const worker = new Worker(new URL('./wal-checkpointer.worker.js', import.meta.url), {
    workerData: { file: sqlite.name, intervalMs, restartPages },
  })
  let last: WalCheckpointer['last']
  let stopping = false
  sqlite.pragma('wal_autocheckpoint = 0')

  let failed = false

  function fallBack(error: unknown): void {
    if (failed) return
    failed = true
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`)
    onError?.(error)
  }

  worker.on('message', (message: { type: string; log: number; checkpointed: number }) => {
    if (message.type === 'checkpointed') last = { log: message.log, checkpointed: message.checkpointed }
  })
  worker.on('error', fallBack)
  const exited = new Promise<void>((resolve) =>
    worker.on('exit', (code) => {
      if (!stopping) fallBack(new Error(`WAL checkpointer exited with code ${code}`))
      resolve()
    })
  )
  // The thread never keeps the process alive: the server does, and stop() ends it first.
  worker.unref()

  return {
    get last() {
      return last
    },
    stop() {
      if (!stopping) {
        stopping = true
        if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`)
        worker.postMessage('stop')
        const timeout = setTimeout(() => void worker.terminate(), 2000)
        void exited.then(() => clearTimeout(timeout))
      }
      return exited
    },
  }
}
