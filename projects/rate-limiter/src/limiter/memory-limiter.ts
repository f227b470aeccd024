import type { AlgorithmState } from './algorithm.ts'
import { ALGORITHM_MODULES } from './algorithms.ts'
import { assertBatch, assertCost, assertKey, capacityOf, validatePolicy } from './policy.ts'
import type { BatchDecision, Decision, MemoryLimiter, Policy } from './types.ts'

/** Options of `createMemoryLimiter`; every field has a default. */
export type MemoryLimiterOptions = {
  /** Current time in ms (default Date.now). Tests inject a fake clock. */
  clock?: () => number
  /** Cap on keys held; beyond it the least recently used key is dropped (its client starts
   * afresh, the price of a hard memory bound). Default: no cap, only expiry. */
  maxKeys?: number
  /** Period of the background sweep of expired keys (timer unref'd). 0 disables it. */
  sweepIntervalMs?: number
  /** Most keys one sweep tick inspects, so a sweep never blocks the event loop for long. */
  sweepBatch?: number
}

/**
 * An in-process limiter: exact and fast, but per process (N replicas admit N times the limit).
 * Memory is bounded: a key whose state has expired (equal to a fresh one) is dropped when next
 * touched and by a periodic sweep that inspects at most `sweepBatch` keys per tick; `maxKeys`
 * adds an LRU cap.
 * @example
 * const limiter = createMemoryLimiter({ name: 'api', algorithm: 'token-bucket', limit: 10, windowMs: 1000 })
 * const decision = await limiter.consume(clientIp)
 * if (!decision.allowed) return tooManyRequests(decision.retryAfterMs)
 */
export function createMemoryLimiter(
  policy: Policy,
  {
    clock = Date.now,
    maxKeys = Number.POSITIVE_INFINITY,
    sweepIntervalMs = 1000,
    sweepBatch = 50_000,
  }: MemoryLimiterOptions = {}
): MemoryLimiter {
  const valid = validatePolicy(policy)
  const algorithm = ALGORITHM_MODULES[valid.algorithm]
  const capacity = capacityOf(valid)
  const lru = Number.isFinite(maxKeys)
  const states = new Map<string, AlgorithmState>()
  let cursor: MapIterator<[string, AlgorithmState]> | undefined

  /** The live state of `key`, or undefined when it has none (or only an expired one). */
  function live(key: string, now: number): AlgorithmState | undefined {
    const state = states.get(key)
    if (state === undefined) return undefined
    if (state.expiresAt <= now) {
      states.delete(key)
      return undefined
    }
    if (lru) {
      // Re-insert: Map iteration order is insertion order, so the first key is the LRU one.
      states.delete(key)
      states.set(key, state)
    }
    return state
  }

  function insert(key: string, state: AlgorithmState): void {
    if (lru && states.size >= maxKeys) {
      const oldest = states.keys().next()
      if (!oldest.done) states.delete(oldest.value)
    }
    states.set(key, state)
  }

  function sweep(maxEntries = sweepBatch): number {
    const now = clock()
    let evicted = 0
    cursor ??= states.entries()
    for (let visited = 0; visited < maxEntries; visited++) {
      const next = cursor.next()
      if (next.done) {
        cursor = undefined
        break
      }
      // Deleting the entry under a live Map iterator is safe (ECMA-262 Map.prototype.forEach).
      if (next.value[1].expiresAt <= now) {
        states.delete(next.value[0])
        evicted++
      }
    }
    return evicted
  }

  function consumeNow(key: string, cost = 1): Decision {
    assertKey(key)
    assertCost(cost, capacity)
    const now = clock()
    const state = live(key, now)
    if (state !== undefined) return algorithm.consume(valid, state, now, cost)
    const fresh = algorithm.create(valid, now)
    const decision = algorithm.consume(valid, fresh, now, cost)
    // A peek (cost 0) at an unknown key stores nothing.
    if (cost > 0) insert(key, fresh)
    return decision
  }

  const timer =
    sweepIntervalMs > 0 ? setInterval(() => sweep(), sweepIntervalMs).unref() : undefined

  return {
    policy: valid,

    get size() {
      return states.size
    },

    consumeNow,

    consume: (key: string, cost = 1): Promise<Decision> => settled(() => consumeNow(key, cost)),

    consumeBatch: (key: string, cost: number, count: number): Promise<BatchDecision> =>
      settled(() => {
        assertBatch(cost, count, capacity) // the key is checked by consumeNow
        // One after another until the first denial: a denial changes nothing, so every later
        // consume of the batch would be denied alike.
        let admitted = 0
        let last = consumeNow(key, cost)
        while (last.allowed && ++admitted < count) last = consumeNow(key, cost)
        return { admitted, decision: last }
      }),

    refund: (key: string, cost = 1): Promise<void> =>
      settled(() => {
        assertKey(key)
        assertCost(cost, Number.POSITIVE_INFINITY)
        const now = clock()
        const state = live(key, now)
        if (state === undefined) return
        algorithm.refund(valid, state, now, cost)
        if (state.expiresAt <= now) states.delete(key)
      }),

    reset: (key: string): Promise<void> =>
      settled(() => {
        assertKey(key)
        states.delete(key)
      }),

    sweep,

    close() {
      if (timer) clearInterval(timer)
      states.clear()
      cursor = undefined
    },
  }
}

/** `run()`'s result as a settled promise: what it throws becomes the rejection. */
function settled<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run())
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }
}
