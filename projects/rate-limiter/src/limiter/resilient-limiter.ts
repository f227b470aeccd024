import { InvalidRequestError, StoreUnavailableError } from './errors.ts'
import { createMemoryLimiter } from './memory-limiter.ts'
import { capacityOf } from './policy.ts'
import type { StoreMonitor } from './store-monitor.ts'
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
  /** What an outage means (explicit on purpose; README, "Outages"):
   * - 'fail-open': admit (availability first; Stripe, Envoy's default);
   * - 'fail-closed': throw StoreUnavailableError (answer 503);
   * - 'insurance': decide with `insurance`, an in-process limiter, until the store answers again. */
  onStoreFailure: StoreFailurePolicy
  /** Says when the store is down (createStoreMonitor; one per connection, shared by every limiter
   * on it). Without one, the store is always asked and its answer awaited: right for a store in
   * this process, wrong for Redis, where a frozen server would hold every request. */
  monitor?: StoreMonitor
  /** The limiter used while the store is down (default: a memory limiter with the same policy,
   * which limits per process; divide the limit by the replica count if that matters). */
  insurance?: Limiter
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

const ignore = () => undefined

/**
 * Puts an outage policy and a block cache in front of a (Redis) limiter. While the monitor says
 * the store is up, every decision is the store's, however long it takes to come back: a slow
 * answer is still the right one, and a busy process must not trade it for a guess. Only when the
 * store is down (the connection closed, or it stopped answering: see store-monitor.ts) does the
 * outage policy decide, without asking the store, so no request is counted in both. A call that
 * was waiting when the store went down, and that the store runs later anyway, is undone (refunded)
 * when its answer arrives. When the store answers again, decisions return to it by themselves.
 * @example
 * const monitor = createStoreMonitor({ ping: () => redis.ping(), connected: () => redis.status === 'ready' })
 * const limiter = createResilientLimiter(createRedisLimiter(policy, { redis }), {
 *   onStoreFailure: 'insurance',
 *   monitor,
 *   onEvent: (e) => metrics.count(e.type),
 * })
 */
export function createResilientLimiter(
  limiter: Limiter,
  {
    onStoreFailure,
    monitor,
    insurance = onStoreFailure === 'insurance' ? createMemoryLimiter(limiter.policy) : undefined,
    blockCache = true,
    maxBlockedKeys = 10_000,
    clock = Date.now,
    onEvent,
  }: ResilientLimiterOptions
): ResilientLimiter {
  const policy = limiter.policy
  const capacity = capacityOf(policy)
  const blocks = blockCache ? new Map<string, Block>() : undefined
  const storeDown = () => new StoreUnavailableError('Rate limit store is down')

  /** The store's answer, watched by the monitor when there is one. */
  function ask<T>(call: Promise<T>): Promise<T> {
    return monitor === undefined ? call : monitor.watch(call)
  }

  function emitDecision(key: string, decision: ResilientDecision): ResilientDecision {
    onEvent?.({ type: decision.allowed ? 'allowed' : 'limited', key, decision })
    return decision
  }

  /** A store failure: the caller's own mistake is rethrown, anything else is an outage. */
  function outage(key: string, error: unknown): StoreUnavailableError {
    if (error instanceof InvalidRequestError) throw error
    monitor?.reportFailure(error)
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

  /** `askedAt`: when the store was asked, which is no later than when it decided. */
  function fromStore(key: string, cost: number, d: Decision, askedAt: number): ResilientDecision {
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
      // Timed from the question, not from the answer: an answer read late (a busy process) must
      // not stretch the block past the store's own retry time.
      blocks.set(key, {
        until: askedAt + d.retryAfterMs,
        resetAt: askedAt + d.resetMs,
        cost,
      })
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

  /** refund/reset: the store while it is up, else the outage policy (insurance mirrors). */
  async function guarded(
    key: string,
    operation: () => Promise<void>,
    onInsurance: () => Promise<void>
  ): Promise<void> {
    try {
      if (monitor !== undefined && !monitor.available()) throw storeDown()
      await ask(operation())
    } catch (error) {
      const failure = outage(key, error)
      if (onStoreFailure === 'fail-closed') throw failure
      if (onStoreFailure === 'insurance') await onInsurance()
    }
  }

  /** A consume the store did not answer in time may still run there: give back what it took. */
  function undoWhenLate(call: Promise<Decision>, key: string, cost: number): void {
    if (cost === 0) return
    call.then(
      (late) => (late.allowed ? limiter.refund(key, cost).catch(ignore) : undefined),
      ignore
    )
  }

  return {
    policy,

    get blockedKeys() {
      return blocks?.size ?? 0
    },

    // The hot path: no async function, one promise from the store and one from the monitor.
    consume(key: string, cost = 1): Promise<ResilientDecision> {
      if (blocks !== undefined) {
        const blocked = blockedDecision(key, cost)
        if (blocked !== undefined) return Promise.resolve(blocked)
      }
      if (monitor !== undefined && !monitor.available()) return fallback(key, cost, storeDown())
      const askedAt = blocks === undefined ? 0 : clock()
      const call = limiter.consume(key, cost)
      return ask(call).then(
        (decision) => fromStore(key, cost, decision, askedAt),
        (error: unknown) => {
          if (!(error instanceof InvalidRequestError)) undoWhenLate(call, key, cost)
          return fallback(key, cost, error)
        }
      )
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
        () => Promise.resolve()
      )
    },
  }
}
