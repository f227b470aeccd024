// @ts-check
// The WAL checkpointer's thread (see wal-checkpointer.ts). Plain JavaScript, so the same file
// runs from src/ under the tests and from dist/ in production: a Worker cannot load TypeScript.
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

/** @type {{ file: string, intervalMs: number }} */
const { file, intervalMs } = workerData
const db = new Database(file, { fileMustExist: true })

// PASSIVE copies every frame no reader still needs into the database file and fsyncs it,
// never waiting for the writer or readers (https://sqlite.org/pragma.html#pragma_wal_checkpoint).
function checkpoint() {
  const [result] = /** @type {{ busy: number, log: number, checkpointed: number }[]} */ (
    db.pragma('wal_checkpoint(PASSIVE)')
  )
  parentPort?.postMessage({ type: 'checkpointed', ...result })
}

const timer = setInterval(checkpoint, intervalMs)
parentPort?.on('message', (message) => {
  if (message !== 'stop') return
  clearInterval(timer)
  db.close()
  parentPort?.close()
})
