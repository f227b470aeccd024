import { createDeadlineQueue } from './deadline-queue.ts'
import { InvalidRequestError, StoreUnavailableError } from './errors.ts'
import { createMemoryLimiter } from './memory-limiter.ts'
import { capacityOf } from './policy.ts'
import type {
  Decision,
  Limiter,
  LimiterEvent,
  ResilientDecision,
  ResilientLimiter,
  StoreFailurePolicy,
} from './types.ts'

/** Options of `createResilientLimiter`; only the outage policy is required. */
export type ResilientLimiterOptions = {
  /** What a store failure or timeout means (explicit on purpose; README, "Outages"):
   * - 'fail-open': admit (availability first; Stripe, Envoy's default);
   * - 'fail-closed': throw StoreUnavailableError (answer 503);
   * - 'insurance': decide with `insurance`, an in-process limiter, until the store answers again. */
  onStoreFailure: StoreFailurePolicy
  /** The limiter used while the store is down (default: a memory limiter with the same policy,
   * which limits per process; divide the limit by the replica count if that matters). */
  insurance?: Limiter
  /** Longest wait for the store per call (default 100 ms, measured on the monotonic clock);
   * beyond it the outage policy applies. */
  timeoutMs?: number
  /** Remember keys the store denied until their retry time and deny them without a round trip
   * (default true): a client hammering past its limit costs no Redis traffic. */
  blockCache?: boolean
  /** Cap on the block cache (default 10,000 keys; the oldest entry goes first). */
  maxBlockedKeys?: number
  /** Current time in ms for the block cache (default Date.now). */
  clock?: () => number
  /** Called synchronously for metrics and logs; must not throw. Every consume emits exactly one
   * 'allowed' or 'limited' (its decision says where it came from), preceded by 'store-failure',
   * 'insurance' or 'block-cache-hit' when those happened. */
  onEvent?: (event: LimiterEvent) => void
}

/** A key the store denied: answered locally until `until` for costs >= `cost`. */
type Block = { until: number; resetAt: number; cost: number }

/**
 * Puts a timeout, an outage policy and a block cache in front of a (Redis) limiter. Every call
 * tries the store first, so when it comes back decisions return to it by themselves.
 * @example
 * const limiter = createResilientLimiter(createRedisLimiter(policy, { redis }), {
 *   onStoreFailure: 'insurance',
 *   timeoutMs: 50,
 *   onEvent: (e) => metrics.count(e.type),
 * })
 */
export function createResilientLimiter(
  limiter: Limiter,
  {
    onStoreFailure,
    insurance = onStoreFailure === 'insurance' ? createMemoryLimiter(limiter.policy) : undefined,
    timeoutMs = 100,
    blockCache = true,
    maxBlockedKeys = 10_000,
    clock = Date.now,
    onEvent,
  }: ResilientLimiterOptions
): ResilientLimiter {
  const policy = limiter.policy
  const capacity = capacityOf(policy)
  const blocks = blockCache ? new Map<string, Block>() : undefined
  const deadlines = createDeadlineQueue(timeoutMs)

  function timedOut(): StoreUnavailableError {
    return new StoreUnavailableError(`Rate limit store timed out after ${timeoutMs} ms`)
  }

  /** Settles with `operation`'s outcome, or rejects with a timeout after timeoutMs. */
  function withTimeout<T>(operation: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const deadline = deadlines.track(() => reject(timedOut()))
      operation.then(
        (value) => deadlines.settle(deadline) && resolve(value),
        (error: unknown) => deadlines.settle(deadline) && reject(error)
      )
    })
  }

  function emitDecision(key: string, decision: ResilientDecision): ResilientDecision {
    onEvent?.({ type: decision.allowed ? 'allowed' : 'limited', key, decision })
    return decision
  }

  /** A store failure: the caller's own mistake is rethrown, anything else is an outage. */
  function outage(key: string, error: unknown): StoreUnavailableError {
    if (error instanceof InvalidRequestError) throw error
    onEvent?.({ type: 'store-failure', key, policy, error })
    return error instanceof StoreUnavailableError
      ? error
      : new StoreUnavailableError('Rate limit store failed', { cause: error })
  }

  function blockedDecision(key: string, cost: number): ResilientDecision | undefined {
    const block = (blocks as Map<string, Block>).get(key)
    if (block === undefined) return undefined
    const now = clock()
    if (block.until <= now) {
      blocks?.delete(key)
      return undefined
    }
    // A denial of cost c says nothing about a smaller request (token bucket, GCRA, weights).
    if (cost < block.cost) return undefined
    const decision: ResilientDecision = {
      allowed: false,
      policy,
      remaining: 0,
      resetMs: Math.max(block.resetAt - now, block.until - now),
      retryAfterMs: block.until - now,
      source: 'block-cache',
    }
    onEvent?.({ type: 'block-cache-hit', key, decision })
    return emitDecision(key, decision)
  }

  function fromStore(key: string, cost: number, d: Decision): ResilientDecision {
    const decision: ResilientDecision = {
      allowed: d.allowed,
      policy: d.policy,
      remaining: d.remaining,
      resetMs: d.resetMs,
      retryAfterMs: d.retryAfterMs,
      source: 'store',
    }
    if (!d.allowed && blocks !== undefined && d.retryAfterMs > 0) {
      if (blocks.size >= maxBlockedKeys && !blocks.has(key)) {
        const oldest = blocks.keys().next()
        if (!oldest.done) blocks.delete(oldest.value)
      }
      const now = clock()
      blocks.set(key, { until: now + d.retryAfterMs, resetAt: now + d.resetMs, cost })
    }
    return emitDecision(key, decision)
  }

  async function fallback(key: string, cost: number, error: unknown): Promise<ResilientDecision> {
    const failure = outage(key, error)
    if (onStoreFailure === 'fail-closed') throw failure
    if (onStoreFailure === 'insurance' && insurance !== undefined) {
      const decision: ResilientDecision = {
        ...(await insurance.consume(key, cost)),
        source: 'insurance',
      }
      onEvent?.({ type: 'insurance', key, decision })
      return emitDecision(key, decision)
    }
    return emitDecision(key, {
      allowed: true,
      policy,
      remaining: Math.max(0, capacity - cost),
      resetMs: 0,
      retryAfterMs: 0,
      source: 'fail-open',
    })
  }

  /** Settles a consume whose store call failed or timed out, by the outage policy. */
  function fail(
    key: string,
    cost: number,
    error: unknown,
    resolve: (decision: ResilientDecision) => void,
    reject: (error: unknown) => void
  ): void {
    fallback(key, cost, error).then(resolve, reject)
  }

  /** refund/reset: the store within the timeout, else the outage policy (insurance mirrors). */
  async function guarded(
    key: string,
    operation: () => Promise<void>,
    onInsurance: () => Promise<void>
  ): Promise<void> {
    try {
      await withTimeout(operation())
    } catch (error) {
      const failure = outage(key, error)
      if (onStoreFailure === 'fail-closed') throw failure
      if (onStoreFailure === 'insurance') await onInsurance()
    }
  }

  return {
    policy,

    get blockedKeys() {
      return blocks?.size ?? 0
    },

    // The hot path: no async function, one promise, one shared timer (see deadline-queue.ts).
    consume(key: string, cost = 1): Promise<ResilientDecision> {
      if (blocks !== undefined) {
        const blocked = blockedDecision(key, cost)
        if (blocked !== undefined) return Promise.resolve(blocked)
      }
      return new Promise<ResilientDecision>((resolve, reject) => {
        const deadline = deadlines.track(() => fail(key, cost, timedOut(), resolve, reject))
        limiter.consume(key, cost).then(
          (d) => deadlines.settle(deadline) && resolve(fromStore(key, cost, d)),
          (error: unknown) => deadlines.settle(deadline) && fail(key, cost, error, resolve, reject)
        )
      })
    },

    async refund(key: string, cost = 1): Promise<void> {
      blocks?.delete(key)
      await guarded(
        key,
        () => limiter.refund(key, cost),
        async () => insurance?.refund(key, cost)
      )
    },

    async reset(key: string): Promise<void> {
      blocks?.delete(key)
      if (onStoreFailure === 'insurance') await insurance?.reset(key)
      await guarded(
        key,
        () => limiter.reset(key),
        async () => undefined
      )
    },
  }
}
