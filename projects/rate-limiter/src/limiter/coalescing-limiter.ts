import { decision } from './algorithm.ts'
import { MAX_BATCH, capacityOf, rejectInvalidRequest } from './policy.ts'
import type { BatchLimiter, Decision, Limiter } from './types.ts'

/** Options of `createCoalescingLimiter`. */
export type CoalescingLimiterOptions = {
  /** Runs the flush once the current batch of I/O is handled (default setImmediate: after every
   * request Node read in this poll phase). Tests pass their own. */
  schedule?: (flush: () => void) => void
}

type Waiter = { resolve: (decision: Decision) => void; reject: (error: unknown) => void }

/** The consumes of one key at one cost waiting for the next flush, in arrival order. */
type Batch = { key: string; cost: number; waiters: Waiter[] }

/**
 * Group commit for a rate limiter: the consumes one key receives while Node handles one batch of
 * I/O become ONE store call. A hot key (a busy API key, a client behind a NAT, an abuser) then
 * costs one script round trip per event-loop turn instead of one per request.
 *
 * Exact, not approximate: the n consumes of one key and cost c go to the store as one
 * `consumeBatch(key, c, n)`, which decides them one after another, atomically (the Lua scripts
 * loop over the count). The first k that fit pass, request i (arrival order) reporting
 * `remaining + (k-1-i)*c`; the other n-k get the store's denial, with the retry time of a request
 * of c. All report the batch's `resetMs`, at most a few ms later than their own. A store error
 * rejects every consume of the batch. Cost 0 (a peek), refund and reset are never delayed.
 *
 * The price: a consume waits for the end of the current poll phase (`setImmediate`), which under
 * load is the time Node spends on the other requests it read anyway, and at rest nothing.
 * @example
 * const limiter = createResilientLimiter(createCoalescingLimiter(createRedisLimiter(policy, { redis })), {
 *   onStoreFailure: 'insurance',
 * })
 */
export function createCoalescingLimiter(
  limiter: BatchLimiter,
  { schedule = setImmediate }: CoalescingLimiterOptions = {}
): Limiter {
  const capacity = capacityOf(limiter.policy)
  /** Pending batches by cost, then key: cost 1 is the common case and keys are free strings. */
  let pending = new Map<number, Map<string, Batch>>()
  let scheduled = false

  function flush(): void {
    const batches = pending
    pending = new Map()
    scheduled = false
    for (const byKey of batches.values()) {
      for (const batch of byKey.values()) decide(batch)
    }
  }

  function decide({ key, cost, waiters }: Batch): void {
    // A store call decides at most MAX_BATCH (a script runs alone on Redis), so a bigger batch
    // goes in chunks, one after the other so that arrival order still decides who passes.
    if (waiters.length <= MAX_BATCH) {
      // settle() hands every outcome to the waiters: its own promise never rejects.
      void settle(key, cost, waiters)
      return
    }
    let chain = Promise.resolve()
    for (let start = 0; start < waiters.length; start += MAX_BATCH) {
      const chunk = waiters.slice(start, start + MAX_BATCH)
      chain = chain.then(() => settle(key, cost, chunk))
    }
  }

  /** Decides `waiters` (at most MAX_BATCH) in one store call; resolves once all have answers. */
  function settle(key: string, cost: number, waiters: Waiter[]): Promise<void> {
    if (waiters.length === 1) {
      const waiter = waiters[0] as Waiter
      return limiter.consume(key, cost).then(waiter.resolve, waiter.reject)
    }
    return limiter.consumeBatch(key, cost, waiters.length).then(
      ({ admitted, decision: last }) => {
        for (let i = 0; i < waiters.length; i++) {
          const remaining = last.remaining + (admitted - 1 - i) * cost
          ;(waiters[i] as Waiter).resolve(
            i < admitted ? decision(last.policy, true, remaining, last.resetMs, 0) : last
          )
        }
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error)
      }
    )
  }

  return {
    policy: limiter.policy,

    consume(key: string, cost = 1): Promise<Decision> {
      // Checked here so a bad request fails alone instead of failing its batch.
      const invalid = rejectInvalidRequest(key, cost, capacity)
      if (invalid !== undefined) return invalid
      if (cost === 0) return limiter.consume(key, 0)
      return new Promise<Decision>((resolve, reject) => {
        let byKey = pending.get(cost)
        if (byKey === undefined) {
          byKey = new Map()
          pending.set(cost, byKey)
        }
        const batch = byKey.get(key)
        if (batch === undefined) byKey.set(key, { key, cost, waiters: [{ resolve, reject }] })
        else batch.waiters.push({ resolve, reject })
        if (!scheduled) {
          scheduled = true
          schedule(flush)
        }
      })
    },

    refund: (key, cost) => limiter.refund(key, cost),
    reset: (key) => limiter.reset(key),
  }
}
