import { InvalidRequestError, StoreUnavailableError } from './errors.ts'
import { createMemoryLimiter } from './memory-limiter.ts'
import { capacityOf } from './policy.ts'
import type {
  Limiter,
  LimiterEvent,
  ResilientDecision,
  ResilientLimiter,
  StoreFailurePolicy,
} from './types.ts'

export type ResilientLimiterOptions = {
  /** What a store failure or timeout means (explicit on purpose; README, "Outages"):
   * - 'fail-open': admit (availability first; Stripe, Envoy's default);
   * - 'fail-closed': throw StoreUnavailableError (answer 503);
   * - 'insurance': decide with `insurance`, an in-process limiter, until the store answers again. */
  onStoreFailure: StoreFailurePolicy
  /** The limiter used while the store is down (default: a memory limiter with the same policy,
   * which limits per process; divide the limit by the replica count if that matters). */
  insurance?: Limiter
  /** Longest wait for the store per call (default 100 ms); beyond it the outage policy applies. */
  timeoutMs?: number
  /** Remember keys the store denied until their retry time and deny them without a round trip
   * (default true): a client hammering past its limit costs no Redis traffic. */
  blockCache?: boolean
  /** Cap on the block cache (default 10,000 keys; the oldest entry goes first). */
  maxBlockedKeys?: number
  /** Current time in ms (default Date.now). */
  clock?: () => number
  /** Called synchronously for metrics and logs; must not throw. Every consume emits exactly one
   * 'allowed' or 'limited' (its decision says where it came from), preceded by 'store-failure',
   * 'insurance' or 'block-cache-hit' when those happened. */
  onEvent?: (event: LimiterEvent) => void
}

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

  function withTimeout<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new StoreUnavailableError(`Rate limit store timed out after ${timeoutMs} ms`)),
        timeoutMs
      )
      promise.then(
        (value) => {
          clearTimeout(timer)
          resolve(value)
        },
        (error: unknown) => {
          clearTimeout(timer)
          reject(error)
        }
      )
    })
  }

  function emitDecision(key: string, decision: ResilientDecision): ResilientDecision {
    onEvent?.({ type: decision.allowed ? 'allowed' : 'limited', key, decision })
    return decision
  }

  /** Runs `operation` on the store; on failure applies the outage policy through `fallback`. */
  async function guarded<T>(
    key: string,
    operation: () => Promise<T>,
    fallback: (error: unknown) => Promise<T>
  ): Promise<T> {
    try {
      return await withTimeout(operation())
    } catch (error) {
      // The caller's mistake is not an outage.
      if (error instanceof InvalidRequestError) throw error
      onEvent?.({ type: 'store-failure', key, policy, error })
      if (onStoreFailure === 'fail-closed') {
        throw error instanceof StoreUnavailableError
          ? error
          : new StoreUnavailableError('Rate limit store failed', { cause: error })
      }
      return fallback(error)
    }
  }

  function blockedDecision(key: string, cost: number): ResilientDecision | undefined {
    const block = blocks?.get(key)
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

  function remember(key: string, cost: number, retryAfterMs: number, resetMs: number): void {
    if (blocks === undefined || retryAfterMs <= 0) return
    if (blocks.size >= maxBlockedKeys && !blocks.has(key)) {
      const oldest = blocks.keys().next()
      if (!oldest.done) blocks.delete(oldest.value)
    }
    const now = clock()
    blocks.set(key, { until: now + retryAfterMs, resetAt: now + resetMs, cost })
  }

  async function fallbackConsume(key: string, cost: number): Promise<ResilientDecision> {
    if (insurance !== undefined && onStoreFailure === 'insurance') {
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

  return {
    policy,

    get blockedKeys() {
      return blocks?.size ?? 0
    },

    async consume(key: string, cost = 1): Promise<ResilientDecision> {
      const blocked = blocks === undefined ? undefined : blockedDecision(key, cost)
      if (blocked !== undefined) return blocked
      return guarded(
        key,
        async () => {
          const decision: ResilientDecision = {
            ...(await limiter.consume(key, cost)),
            source: 'store',
          }
          if (!decision.allowed) remember(key, cost, decision.retryAfterMs, decision.resetMs)
          return emitDecision(key, decision)
        },
        () => fallbackConsume(key, cost)
      )
    },

    async refund(key: string, cost = 1): Promise<void> {
      blocks?.delete(key)
      await guarded(
        key,
        () => limiter.refund(key, cost),
        async () => {
          if (onStoreFailure === 'insurance') await insurance?.refund(key, cost)
        }
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
