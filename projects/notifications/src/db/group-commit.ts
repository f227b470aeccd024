/**
 * Group commit: the SQLite writes that one process's concurrent jobs ask for in the same turn
 * of the event loop run in one write transaction, each in a savepoint of its own, and every
 * caller's promise settles once that transaction has committed. A write still happens before
 * whatever awaits it (the provider call after the pin, the job's completion after `sent`): what
 * changes is how many transactions carry the writes.
 *
 * Why it is here (a speed trick, measured): each delivery writes twice, and the API process and
 * every worker process write the same file. With a transaction per write, a worker's profile
 * spent about a quarter of its time inside those two statements, waiting for the write lock
 * another process held (SQLite's busy handler sleeps a millisecond or more per try) rather than
 * writing. One transaction per turn takes the lock once for all the writes that are ready.
 *
 * A write that throws rolls back its own savepoint and rejects its own caller; the others
 * commit. If the lock does not come within the connection's busy_timeout, or the commit fails,
 * every caller of the group rejects and none of its writes is kept.
 */
import type Database from 'better-sqlite3'

/** Runs `write` (synchronous SQLite statements) in the next group transaction. */
export type GroupCommit = <T>(write: () => T) => Promise<T>

type Pending = {
  write: () => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/** Tries on the next turns first, then every millisecond, while another process writes. */
const IMMEDIATE_TRIES = 8

/**
 * @example
 * ```ts
 * const commit = createGroupCommit(sqlite)
 * await commit(() => log.pin(delivery, provider, token)) // committed when this resolves
 * ```
 */
export function createGroupCommit(sqlite: Database.Database): GroupCommit {
  // How long a group waits for the write lock: the connection's own busy_timeout.
  const busyTimeoutMs = sqlite.pragma('busy_timeout', { simple: true }) as number
  const begin = sqlite.prepare('BEGIN IMMEDIATE')
  const commit = sqlite.prepare('COMMIT')
  const rollback = sqlite.prepare('ROLLBACK')
  // Not prepared statements: SQLite applies PRAGMA busy_timeout when it compiles it.
  const noWait = () => sqlite.exec('PRAGMA busy_timeout = 0')
  const wait = () => sqlite.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`)
  let pending: Pending[] = []
  let scheduled = false
  let tries = 0
  let waitingSince = 0

  /**
   * Takes the write lock if it is free now. SQLite's own busy handler would sleep the whole
   * process between tries (1 ms, 2 ms, 5 ms…); here the event loop runs on while it waits, and
   * the writes asked for meanwhile join the group.
   */
  function lockNow(): boolean {
    noWait()
    try {
      begin.run()
      return true
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_BUSY') return false
      throw error
    } finally {
      wait()
    }
  }

  function settle(batch: Pending[], outcomes: Array<{ value: unknown } | { error: unknown }>) {
    batch.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i]!
      if ('error' in outcome) reject(outcome.error)
      else resolve(outcome.value)
    })
  }

  function flush() {
    scheduled = false
    let locked: boolean
    try {
      locked = lockNow()
    } catch (error) {
      return fail(error)
    }
    if (!locked) {
      if (tries === 0) waitingSince = Date.now()
      if (Date.now() - waitingSince >= busyTimeoutMs) {
        return fail(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }))
      }
      tries++
      scheduled = true
      if (tries <= IMMEDIATE_TRIES) setImmediate(flush)
      else setTimeout(flush, 1)
      return
    }
    tries = 0
    const batch = pending
    pending = []
    const outcomes: Array<{ value: unknown } | { error: unknown }> = []
    try {
      for (const { write } of batch) {
        try {
          // Inside the open transaction better-sqlite3 runs it in a savepoint of its own,
          // rolled back alone if it throws.
          outcomes.push({ value: sqlite.transaction(write)() })
        } catch (error) {
          outcomes.push({ error })
        }
      }
      commit.run()
    } catch (error) {
      if (sqlite.inTransaction) rollback.run()
      for (const { reject } of batch) reject(error)
      return
    }
    settle(batch, outcomes)
  }

  function fail(error: unknown) {
    tries = 0
    const batch = pending
    pending = []
    for (const { reject } of batch) reject(error)
  }

  return function groupCommit<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      pending.push({ write, resolve: resolve as (value: unknown) => void, reject })
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    })
  }
}
