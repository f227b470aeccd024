import type { Cluster, Redis } from 'ioredis'
import { createMemoryLinkCache } from './memory-link-cache.ts'
import { createRedisLinkCache } from './redis-link-cache.ts'

/** The subset of a pino logger the cache uses. */
export type CacheLogger = {
  warn(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
}

export type CacheStats = {
  mode: 'memory' | 'redis'
  hits: number
  misses: number
  /** Redis commands that failed (each read then went to the source). */
  errors: number
  /** Redis is failing or reconnecting: reads go straight to the source. */
  degraded: boolean
}

export type LinkCache<T extends object> = {
  /** The value for `code`: cache first, then the source (filling the cache). Never rejects. */
  get(code: string): Promise<T | undefined>
  /**
   * Runs `apply`, a synchronous write to the source of `code`'s value that returns what it
   * changed (undefined: nothing), so that once the promise resolves no reader, on any instance,
   * is served the value from before the write. `versionOf` gives the version the write made.
   *
   * @throws {CacheUnavailableError} before `apply` runs, when that cannot be guaranteed: the
   * write is not made, and the caller answers 503.
   */
  change<R>(
    code: string,
    apply: () => R | undefined,
    versionOf: (result: R) => number
  ): Promise<R | undefined>
  /** Preloads values (the most-clicked links at start). Resolves with how many were stored. */
  warm(entries: Iterable<[code: string, value: T]>): Promise<number>
  stats(): CacheStats
  /**
   * Resolves once the cache is in use: at once in memory; with Redis, when a connection is
   * ready and the Redis run it talks to is known (until then reads go to the source).
   */
  ready(): Promise<void>
  /** Stops timers and listeners. A Redis client belongs to the caller. */
  close(): void
}

/**
 * The shared cache cannot be fenced (Redis down, frozen or unreachable), so a change is refused
 * rather than made with a cache that could keep serving the old value.
 */
export class CacheUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('The link cache cannot be invalidated right now; the change was not made', options)
    this.name = this.constructor.name
  }
}

export type LinkCacheOptions<T extends object> = {
  /** The source of truth (SQLite): the value for a code, or undefined when there is none. */
  load: (code: string) => T | undefined
  /** The value's version; it strictly increases with every change of the code's value. */
  version: (value: T) => number
  /** Set: values live in Redis (or a Redis Cluster), shared by every instance. Unset: an in-process LRU. */
  redis?: Redis | Cluster
  /** Entries of the in-process LRU. */
  maxEntries?: number
  /** Redis entry lifetime. */
  ttlMs?: number
  keyPrefix?: string
  /** While Redis is failing, how often to probe it. */
  probeIntervalMs?: number
  logger?: CacheLogger
}

/**
 * The read-through cache in front of the link store: an in-process LRU
 * (`memory-link-cache.ts`), or Redis shared by every instance (`redis-link-cache.ts`).
 *
 * @example
 * ```ts
 * const cache = createLinkCache({ load: (code) => store.redirectEntry(code), version: (e) => e.version, redis })
 * const entry = await cache.get('abc123XYZ')
 * const link = await cache.change('abc123XYZ', () => store.update('abc123XYZ', changes), (l) => l.updatedAt)
 * ```
 */
export function createLinkCache<T extends object>({
  redis,
  maxEntries,
  ...options
}: LinkCacheOptions<T>): LinkCache<T> {
  return redis
    ? createRedisLinkCache({ ...options, redis })
    : createMemoryLinkCache({ load: options.load, maxEntries })
}
