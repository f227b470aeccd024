// @ts-check
// The WAL checkpointer's thread (see wal-checkpointer.ts). Plain JavaScript, so the same file
// runs from src/ under the tests and from dist/ in production: a Worker cannot load TypeScript.
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

/** @type {{ file: string, intervalMs: number, restartPages: number }} */
const { file, intervalMs, restartPages } = workerData
const db = new Database(file, { fileMustExist: true })
// RESTART waits this long for the writer's current transaction (a millisecond or two).
db.pragma('busy_timeout = 1000')

/** @param {'PASSIVE' | 'RESTART'} mode */
function run(mode) {
  const [result] = /** @type {{ busy: number, log: number, checkpointed: number }[]} */ (
    db.pragma(`wal_checkpoint(${mode})`)
  )
  return /** @type {{ busy: number, log: number, checkpointed: number }} */ (result)
}

// PASSIVE copies every frame no reader still needs into the database file and fsyncs it, never
// waiting for the writer or readers (https://sqlite.org/pragma.html#pragma_wal_checkpoint).
// The writer starts the WAL over from its head only at a commit that finds it wholly copied,
// which a steady stream of commits never does: past `restartPages`, RESTART holds the writer
// back while it copies the few frames PASSIVE left, and the next commit restarts the WAL.
function checkpoint() {
  let result = run('PASSIVE')
  if (result.log >= restartPages) result = run('RESTART')
  parentPort?.postMessage({ type: 'checkpointed', ...result })
}

const timer = setInterval(checkpoint, intervalMs)
parentPort?.on('message', (message) => {
  if (message !== 'stop') return
  clearInterval(timer)
  db.close()
  parentPort?.close()
})
