/**
 * Builds every limiter the demo service uses from its configuration: one limiter per policy (on
 * Redis behind the resilient wrapper, or in memory), one per algorithm for the benchmark routes,
 * the concurrent-requests limiters and the load shedder. No I/O: the Redis client is passed in.
 */
import type { Redis } from 'ioredis'
import {
  createMemoryConcurrencyLimiter,
  createRedisConcurrencyLimiter,
  type ConcurrencyLimiter,
} from './concurrency/concurrency-limiter.ts'
import type { Config, RouteId } from './config.ts'
import {
  ALGORITHMS,
  createCoalescingLimiter,
  createMemoryLimiter,
  createRedisLimiter,
  createResilientLimiter,
  createStoreMonitor,
  StoreUnavailableError,
  type Algorithm,
  type Limiter,
  type LimiterEvent,
  type MemoryLimiter,
  type Policy,
  type StoreFailurePolicy,
  type StoreMonitor,
  type StoreState,
} from './limiter/index.ts'
import {
  createPriorityLoadShedder,
  type PriorityLoadShedder,
} from './load-shedding/priority-load-shedder.ts'

export type Limits = {
  backend: 'memory' | 'redis'
  /** Whether Redis answers (what sends decisions to it or to the outage policy); absent in memory. */
  monitor: StoreMonitor | undefined
  onStoreFailure: StoreFailurePolicy
  /** The limiters of each policy, by name. */
  byPolicy: ReadonlyMap<string, Limiter>
  /** The limiters of a route (for a tier when given and configured), the same array every call. */
  forRoute(route: RouteId, tier?: string): readonly Limiter[]
  /** One single-policy list per algorithm, for GET /api/algorithms/:algorithm. */
  forAlgorithm: Readonly<Record<Algorithm, readonly Limiter[]>>
  /** The concurrent-requests limiter of a route that has one, with its in-memory fallback. */
  concurrency: Partial<
    Record<RouteId, { limiter: ConcurrencyLimiter; fallback: ConcurrencyLimiter }>
  >
  shedder: PriorityLoadShedder
  /** Stops the memory limiters' sweep timers and the monitor's. */
  close(): void
}

/** The policy of the benchmark route of one algorithm. */
export function algorithmPolicy(
  algorithm: Algorithm,
  config: Config['POLICIES']['algorithms']
): Policy {
  return { name: `algorithm-${algorithm}`, algorithm, ...config }
}

export function createLimits(
  config: Config,
  {
    redis,
    onLimiterEvent,
    onStoreChange,
    clock,
  }: {
    /** Absent: every limiter is in memory (one process's view). */
    redis?: Redis
    onLimiterEvent?: (event: LimiterEvent) => void
    /** Redis went down or came back (for the log). */
    onStoreChange?: (state: StoreState, reason: string) => void
    clock?: () => number
  } = {}
): Limits {
  const memoryLimiters: MemoryLimiter[] = []
  // One monitor for the one connection every Redis limiter shares.
  const monitor =
    redis === undefined
      ? undefined
      : createStoreMonitor({
          ping: () => redis.ping(),
          connected: () => redis.status === 'ready',
          timeoutMs: config.REDIS_TIMEOUT_MS,
          ...(onStoreChange && { onChange: onStoreChange }),
        })
  const build = (policy: Policy): Limiter => {
    // Bounded: expired keys go first (on access and by the sweep), then, past the cap, the least
    // recently used key, whose client starts afresh.
    const memoryOptions = { maxKeys: config.MEMORY_MAX_KEYS, ...(clock && { clock }) }
    if (redis === undefined) {
      const limiter = createMemoryLimiter(policy, memoryOptions)
      memoryLimiters.push(limiter)
      return limiter
    }
    const insurance =
      config.STORE_FAILURE === 'insurance' ? createMemoryLimiter(policy, memoryOptions) : undefined
    if (insurance) memoryLimiters.push(insurance)
    const store = createRedisLimiter(policy, {
      redis,
      prefix: `${config.KEY_PREFIX}${policy.name}:`,
    })
    return createResilientLimiter(config.COALESCE ? createCoalescingLimiter(store) : store, {
      onStoreFailure: config.STORE_FAILURE,
      monitor,
      ...(insurance && { insurance }),
      blockCache: config.BLOCK_CACHE,
      ...(onLimiterEvent && { onEvent: onLimiterEvent }),
      ...(clock && { clock }),
    })
  }

  const byPolicy = new Map(
    Object.values(config.POLICIES.policies).map((policy) => [policy.name, build(policy)] as const)
  )
  const list = (names: readonly string[]) => names.map((name) => byPolicy.get(name) as Limiter)
  const routeLists = new Map<string, readonly Limiter[]>()
  for (const [id, route] of Object.entries(config.POLICIES.routes)) {
    routeLists.set(id, list(route.policies))
    for (const [tier, names] of Object.entries(route.tiers))
      routeLists.set(`${id}:${tier}`, list(names))
  }

  const forAlgorithm = {} as Record<Algorithm, readonly Limiter[]>
  for (const algorithm of ALGORITHMS) {
    forAlgorithm[algorithm] = [build(algorithmPolicy(algorithm, config.POLICIES.algorithms))]
  }

  const concurrency: Limits['concurrency'] = {}
  for (const [id, route] of Object.entries(config.POLICIES.routes) as [
    RouteId,
    Config['POLICIES']['routes'][RouteId],
  ][]) {
    if (route.concurrency === undefined) continue
    const options = { limit: route.concurrency, leaseMs: config.CONCURRENCY_LEASE_MS }
    const fallback = createMemoryConcurrencyLimiter(options)
    concurrency[id] = {
      limiter:
        redis === undefined || monitor === undefined
          ? fallback
          : watchedConcurrencyLimiter(
              createRedisConcurrencyLimiter({
                redis,
                ...options,
                prefix: `${config.KEY_PREFIX}concurrency:${id}:`,
              }),
              monitor
            ),
      fallback,
    }
  }

  return {
    backend: redis === undefined ? 'memory' : 'redis',
    monitor,
    onStoreFailure: config.STORE_FAILURE,
    byPolicy,
    forRoute: (route, tier) =>
      (tier !== undefined ? routeLists.get(`${route}:${tier}`) : undefined) ??
      (routeLists.get(route) as readonly Limiter[]),
    forAlgorithm,
    concurrency,
    shedder: createPriorityLoadShedder({
      capacity: config.LOAD_SHED_CAPACITY,
      reservedShare: config.LOAD_SHED_RESERVED_SHARE,
    }),
    close() {
      for (const limiter of memoryLimiters) limiter.close()
      monitor?.close()
    },
  }
}

/**
 * The Redis concurrency limiter behind the same monitor as the rate limiters: while Redis is down
 * an acquire fails at once (the middleware's outage policy answers), and a slot that a frozen
 * Redis grants after the request gave up on it is released as soon as it arrives.
 */
function watchedConcurrencyLimiter(
  limiter: ConcurrencyLimiter,
  monitor: StoreMonitor
): ConcurrencyLimiter {
  return {
    limit: limiter.limit,
    acquire(key) {
      if (!monitor.available()) {
        return Promise.reject(new StoreUnavailableError('Concurrency store is down'))
      }
      const call = limiter.acquire(key)
      return monitor.watch(call).catch((error: unknown) => {
        monitor.reportFailure(error)
        call.then((late) => (late.acquired ? late.release() : undefined)).catch(() => undefined)
        throw error
      })
    },
  }
}
