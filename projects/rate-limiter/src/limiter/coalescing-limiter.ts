import { decision } from './algorithm.ts'
import { capacityOf, rejectInvalidRequest } from './policy.ts'
import type { Decision, Limiter } from './types.ts'

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
 * Exact, not approximate: n consumes of cost c are first tried as one consume of n*c, which the
 * store admits or denies atomically.
 * - Admitted: all n pass, as n consumes at that instant would; request i (arrival order) reports
 *   `remaining + (n-1-i)*c`. All report the batch's `resetMs`, at most a few ms later than its own.
 * - Denied with less than c left: none would pass; one consume of c gets their answer (its
 *   `retryAfterMs` is for a request of c, not n*c).
 * - Denied with some room: the n go one by one, in arrival order, as without coalescing.
 * A store error rejects every consume of the batch. Cost 0 (a peek), refund and reset are never
 * delayed.
 *
 * The price: a consume waits for the end of the current poll phase (`setImmediate`), which under
 * load is the time Node spends on the other requests it read anyway, and at rest nothing.
 * @example
 * const limiter = createResilientLimiter(createCoalescingLimiter(createRedisLimiter(policy, { redis })), {
 *   onStoreFailure: 'insurance',
 * })
 */
export function createCoalescingLimiter(
  limiter: Limiter,
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
    // One store call takes at most the capacity, so a bigger batch goes in chunks, one after the
    // other so that arrival order still decides who passes.
    const perCall = Math.floor(capacity / cost)
    if (waiters.length <= perCall) {
      settle(key, cost, waiters)
      return
    }
    let chain = Promise.resolve()
    for (let start = 0; start < waiters.length; start += perCall) {
      const chunk = waiters.slice(start, start + perCall)
      chain = chain.then(() => settle(key, cost, chunk))
    }
  }

  /** Decides `waiters` (at most the capacity); resolves once every one of them has its answer. */
  function settle(key: string, cost: number, waiters: Waiter[]): Promise<void> {
    if (waiters.length === 1) return one(key, cost, waiters[0] as Waiter)
    const n = waiters.length
    return limiter.consume(key, n * cost).then(
      (whole) => {
        if (whole.allowed) {
          for (let i = 0; i < n; i++) {
            const remaining = whole.remaining + (n - 1 - i) * cost
            ;(waiters[i] as Waiter).resolve(
              decision(whole.policy, true, remaining, whole.resetMs, 0)
            )
          }
          return undefined
        }
        return whole.remaining < cost ? denyAll(key, cost, waiters) : oneByOne(key, cost, waiters)
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error)
      }
    )
  }

  function one(key: string, cost: number, waiter: Waiter): Promise<void> {
    return limiter.consume(key, cost).then(waiter.resolve, waiter.reject)
  }

  /** As without coalescing: one store call each, sent in arrival order on one connection. */
  function oneByOne(key: string, cost: number, waiters: Waiter[]): Promise<void> {
    return Promise.all(waiters.map((waiter) => one(key, cost, waiter))).then(() => undefined)
  }

  /** The store said not even one fits: one consume of `cost` answers for all of them. */
  function denyAll(key: string, cost: number, waiters: Waiter[]): Promise<void> {
    return limiter.consume(key, cost).then(
      (single) => {
        if (!single.allowed) {
          for (const waiter of waiters) waiter.resolve(single)
          return undefined
        }
        // Room appeared in between (a refund, a window edge): the rest go one by one.
        ;(waiters[0] as Waiter).resolve(single)
        return oneByOne(key, cost, waiters.slice(1))
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
