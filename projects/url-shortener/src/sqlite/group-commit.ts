export type GroupCommitOptions = {
  /** Runs `fn` inside one database transaction (commits when it returns, rolls back if it throws). */
  transaction: <T>(fn: () => T) => T
  /** Most jobs per transaction; more wait for the next one. */
  maxBatch?: number
}

export type GroupCommit = {
  /**
   * Queues a synchronous write. It runs with the other writes queued in the same event-loop turn,
   * in one transaction; the promise settles after that transaction committed (or rolled back).
   * A job that throws rejects alone: its statement is undone, the others commit.
   */
  submit<T>(job: () => T): Promise<T>
}

type Pending = {
  job: () => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/**
 * Group commit: writes from concurrent requests share one transaction, so they share one commit.
 *
 * In WAL mode a commit costs a write of every page the transaction touched, whatever it holds;
 * twenty inserts committed together write each shared page (the table's last leaf, index leaves)
 * once instead of twenty times. The batch is cut at the end of the current event-loop turn
 * (setImmediate), so a lone request waits for nothing.
 *
 * A failing statement inside a transaction is undone by SQLite on its own (a constraint error
 * aborts the statement, not the transaction), so one job's failure never costs the others theirs.
 * If the commit itself fails, every job of the batch rejects with that error: nothing of it was
 * written.
 *
 * @example
 * ```ts
 * const commits = createGroupCommit({ transaction: store.transaction })
 * const { link } = await commits.submit(() => store.create({ target }))
 * ```
 */
export function createGroupCommit({
  transaction,
  maxBatch = 256,
}: GroupCommitOptions): GroupCommit {
  const queue: Pending[] = []
  let scheduled = false

  function flush(): void {
    scheduled = false
    const batch = queue.splice(0, maxBatch)
    if (queue.length > 0) schedule()
    const outcomes: { ok: boolean; value: unknown }[] = []
    try {
      transaction(() => {
        for (const { job } of batch) {
          try {
            outcomes.push({ ok: true, value: job() })
          } catch (error) {
            outcomes.push({ ok: false, value: error })
          }
        }
      })
    } catch (error) {
      for (const { reject } of batch) reject(error)
      return
    }
    batch.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i] as { ok: boolean; value: unknown }
      if (outcome.ok) resolve(outcome.value)
      else reject(outcome.value)
    })
  }

  function schedule(): void {
    if (scheduled) return
    scheduled = true
    setImmediate(flush)
  }

  return {
    submit<T>(job: () => T) {
      return new Promise<T>((resolve, reject) => {
        queue.push({ job, resolve: resolve as (value: unknown) => void, reject })
        schedule()
      })
    },
  }
}
