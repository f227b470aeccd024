import { readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'

export type CacheLogger = {
  warn(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
}

export type CachedLinkStoreOptions<T extends object> = {
  /** The source of truth (SQLite): the value for a code, or undefined when there is none. */
  load: (code: string) => T | undefined
  /** The value's version; it strictly increases with every change of the code's link. */
  version: (value: T) => number
  /** When set, values live in Redis (shared by every instance) instead of an in-process LRU. */
  redis?: Redis
  /** Entries of the in-process LRU (no Redis). */
  maxEntries?: number
  /** Redis entry lifetime: bounds how long a lost invalidation could serve a stale value. */
  ttlMs?: number
  keyPrefix?: string
  /** While Redis is failing, how often to probe it. */
  probeIntervalMs?: number
  logger?: CacheLogger
}

export type CacheStats = {
  mode: 'memory' | 'redis'
  hits: number
  misses: number
  /** Redis commands that failed (each one served from the source instead). */
  errors: number
  /** Redis is failing: reads go straight to the source until a probe succeeds. */
  degraded: boolean
  /** Invalidations that could not reach Redis, replayed before the cache is used again. */
  pendingInvalidations: number
}

export type CachedLinkStore<T extends object> = {
  /** The value for `code`: cache first, then the source (filling the cache). Never rejects. */
  get(code: string): Promise<T | undefined>
  /** Forgets `code` after its link changed; `version` is the link's version after the change. */
  invalidate(code: string, version: number): Promise<void>
  /** Preloads values (the most-clicked links at start). Resolves with how many were stored. */
  warm(entries: Iterable<[code: string, value: T]>): Promise<number>
  stats(): CacheStats
  /** Stops the recovery probe. The Redis client belongs to the caller. */
  close(): void
}

type ScriptedRedis = Redis & {
  linkCacheFill(
    entry: string,
    floor: string,
    value: string,
    version: number,
    ttlMs: number
  ): Promise<number>
  linkCacheInvalidate(entry: string, floor: string, version: number, ttlMs: number): Promise<number>
}

/** Scripts sit beside this module; the build copies them next to dist/main.js. */
function readScript(name: string): string {
  return readFileSync(new URL(`./${name}`, import.meta.url), 'utf8')
}

function defineScripts(redis: Redis): ScriptedRedis {
  redis.defineCommand('linkCacheFill', { numberOfKeys: 2, lua: readScript('cache-fill.lua') })
  redis.defineCommand('linkCacheInvalidate', {
    numberOfKeys: 2,
    lua: readScript('cache-invalidate.lua'),
  })
  return redis as ScriptedRedis
}

/**
 * The read-through cache in front of the link store: the redirect path's only lookup.
 *
 * Without Redis, an in-process LRU: a hit is a Map lookup, and invalidation is exact because the
 * only writer is this process.
 *
 * With Redis, every instance reads and fills the same Redis entries and keeps NO local copy:
 * an in-process copy could serve an old target for as long as an invalidation message takes to
 * arrive, and "no stale redirect after an edit or delete, across instances" allows no window.
 * Correctness under races:
 * - a writer updates SQLite first, then invalidates (cache-invalidate.lua: delete the entry and
 *   raise a per-code version floor); the HTTP answer waits for both;
 * - a reader that loaded the old row before the update may try to fill after the invalidation:
 *   cache-fill.lua refuses any value older than the floor.
 *
 * Redis failures never fail a read: the error is counted, the cache turns `degraded` and reads go
 * to the source. Invalidations that could not be delivered are kept and replayed by the recovery
 * probe before the cache is read again, so a value changed during the outage is never served
 * from an entry that survived it.
 *
 * @example
 * ```ts
 * const cache = createCachedLinkStore({
 *   load: (code) => store.redirectEntry(code),
 *   version: (entry) => entry.version,
 *   redis, // optional
 * })
 * const entry = await cache.get('abc123XYZ')
 * ```
 */
export function createCachedLinkStore<T extends object>({
  load,
  version,
  redis,
  maxEntries = 10_000,
  ttlMs = 3_600_000,
  keyPrefix = 'url-shortener:link',
  probeIntervalMs = 1000,
  logger,
}: CachedLinkStoreOptions<T>): CachedLinkStore<T> {
  const counters = { hits: 0, misses: 0, errors: 0 }

  if (!redis) {
    const lru = new LRUCache<string, T>({ max: maxEntries })
    return {
      async get(code) {
        const cached = lru.get(code)
        if (cached !== undefined) {
          counters.hits++
          return cached
        }
        counters.misses++
        const value = load(code)
        if (value !== undefined) lru.set(code, value)
        return value
      },
      async invalidate(code) {
        lru.delete(code)
      },
      async warm(entries) {
        let stored = 0
        for (const [code, value] of entries) {
          lru.set(code, value)
          stored++
        }
        return stored
      },
      stats: () => ({ mode: 'memory', ...counters, degraded: false, pendingInvalidations: 0 }),
      close() {},
    }
  }

  const client = defineScripts(redis)
  // A hash tag around the code keeps an entry and its floor in one cluster slot.
  const entryKey = (code: string) => `${keyPrefix}:{${code}}`
  const floorKey = (code: string) => `${keyPrefix}-version:{${code}}`
  const pending = new Map<string, number>()
  let degraded = false
  let probe: NodeJS.Timeout | undefined

  function fail(error: unknown, operation: string): void {
    counters.errors++
    if (degraded) return
    degraded = true
    logger?.warn({ err: error, operation }, 'link cache: Redis failing, serving from the database')
    probe = setInterval(recover, probeIntervalMs)
    probe.unref()
  }

  let recovering = false
  async function recover(): Promise<void> {
    if (recovering) return
    recovering = true
    try {
      await client.ping()
      // One at a time, re-reading the map: an invalidation queued meanwhile is replayed too.
      for (let next = pending.entries().next(); !next.done; next = pending.entries().next()) {
        const [code, floor] = next.value
        await client.linkCacheInvalidate(entryKey(code), floorKey(code), floor, ttlMs)
        if (pending.get(code) === floor) pending.delete(code)
      }
      degraded = false
      clearInterval(probe)
      logger?.info({}, 'link cache: Redis back, cache in use again')
    } catch {
      // Still down: the next tick tries again.
    } finally {
      recovering = false
    }
  }

  function fill(code: string, value: T): Promise<boolean> {
    return client
      .linkCacheFill(entryKey(code), floorKey(code), JSON.stringify(value), version(value), ttlMs)
      .then(
        (stored) => stored === 1,
        (error: unknown) => {
          fail(error, 'fill')
          return false
        }
      )
  }

  return {
    async get(code) {
      if (!degraded) {
        try {
          const cached = await client.get(entryKey(code))
          if (cached !== null) {
            counters.hits++
            return JSON.parse(cached) as T
          }
        } catch (error) {
          fail(error, 'get')
        }
      }
      counters.misses++
      const value = load(code)
      // Not awaited: the redirect does not wait for the cache to be filled.
      if (value !== undefined && !degraded) void fill(code, value)
      return value
    },
    async invalidate(code, changeVersion) {
      if (!degraded) {
        try {
          await client.linkCacheInvalidate(entryKey(code), floorKey(code), changeVersion, ttlMs)
          return
        } catch (error) {
          fail(error, 'invalidate')
        }
      }
      pending.set(code, Math.max(changeVersion, pending.get(code) ?? -1))
    },
    async warm(entries) {
      if (degraded) return 0
      const results = await Promise.all([...entries].map(([code, value]) => fill(code, value)))
      return results.filter(Boolean).length
    },
    stats: () => ({ mode: 'redis', ...counters, degraded, pendingInvalidations: pending.size }),
    close() {
      clearInterval(probe)
    },
  }
}
