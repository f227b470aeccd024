import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'

export type WalCheckpointerOptions = {
  /** The connection that writes; its automatic checkpoints are turned off while the thread runs. */
  sqlite: Database.Database
  /** How often the thread checkpoints. */
  intervalMs?: number
  /** WAL length (pages) past which the writer catches up once, so that the WAL restarts. */
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
 * readers.
 *
 * A commit restarts the WAL from its head only when it finds every frame already copied, which
 * a steady stream of commits never lets the thread achieve: it is always a few commits behind.
 * So once the WAL passes `restartPages`, the writer itself runs one PASSIVE checkpoint between
 * two commits. It copies only the frames written since the thread's last pass (one fsync,
 * about a millisecond) and lets the next commit start the WAL over. Per `restartPages` of WAL,
 * that is one short pause instead of SQLite's four long ones.
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
    workerData: { file: sqlite.name, intervalMs },
  })
  let last: WalCheckpointer['last']
  let stopping = false
  sqlite.pragma('wal_autocheckpoint = 0')
  // A restarted WAL is written again from its head but keeps its size on disk; past this it is
  // truncated back, so a burst does not leave a large file behind.
  const pageSize = sqlite.pragma('page_size', { simple: true }) as number
  sqlite.pragma(`journal_size_limit = ${restartPages * pageSize}`)

  let failed = false

  function fallBack(error: unknown): void {
    if (failed) return
    failed = true
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`)
    onError?.(error)
  }

  let catchUpScheduled = false

  function catchUp(): void {
    catchUpScheduled = false
    if (!sqlite.open || stopping) return
    // Between two event-loop turns no transaction is open on this connection (better-sqlite3
    // is synchronous), so the next commit can restart the WAL. While the thread holds the
    // checkpoint lock this returns busy at once: try again next turn.
    const [result] = sqlite.pragma('wal_checkpoint(PASSIVE)') as { busy: number }[]
    if (result?.busy) scheduleCatchUp()
  }

  function scheduleCatchUp(): void {
    if (catchUpScheduled) return
    catchUpScheduled = true
    setImmediate(catchUp)
  }

  worker.on('message', (message: { type: string; log: number; checkpointed: number }) => {
    if (message.type !== 'checkpointed') return
    last = { log: message.log, checkpointed: message.checkpointed }
    if (message.log >= restartPages) scheduleCatchUp()
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
