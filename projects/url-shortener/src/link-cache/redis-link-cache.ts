import { createHash, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Cluster } from 'ioredis'
import type { Redis } from 'ioredis'
import { CacheUnavailableError } from './link-cache.ts'
import type { CacheLogger, LinkCache } from './link-cache.ts'

export type RedisLinkCacheOptions<T extends object> = {
  /** One Redis, or a Redis Cluster (an entry and its meta key share the code's hash tag). */
  redis: Redis | Cluster
  /** The source of truth: the value for a code, or undefined when there is none. */
  load: (code: string) => T | undefined
  /** The value's version; it strictly increases with every change of the code's value. */
  version: (value: T) => number
  /** Entry lifetime: memory is given back for links nobody follows any more. */
  ttlMs?: number
  /**
   * How long a fence blocks fills if its writer dies between fencing and invalidating. Longer
   * than any fill can take to land (a request client's command timeout is 500 ms).
   */
  fenceTtlMs?: number
  keyPrefix?: string
  /** While Redis is failing, how often to probe it. */
  probeIntervalMs?: number
  logger?: CacheLogger
}

type ScriptedRedis = (Redis | Cluster) & {
  linkCacheFill(
    entry: string,
    meta: string,
    value: string,
    version: number,
    ttlMs: number
  ): Promise<number>
  linkCacheFence(
    entry: string,
    meta: string,
    token: string,
    fenceTtlMs: number,
    metaTtlMs: number
  ): Promise<number>
  linkCacheInvalidate(
    entry: string,
    meta: string,
    version: number,
    token: string,
    metaTtlMs: number
  ): Promise<number>
}

/** Scripts sit beside this module; the build copies them next to dist/main.js. */
function readScript(name: string): string {
  return readFileSync(new URL(`./${name}`, import.meta.url), 'utf8')
}

function defineScripts(redis: Redis | Cluster): ScriptedRedis {
  for (const [name, file] of [
    ['linkCacheFill', 'link-cache-fill.lua'],
    ['linkCacheFence', 'link-cache-fence.lua'],
    ['linkCacheInvalidate', 'link-cache-invalidate.lua'],
  ] as const) {
    redis.defineCommand(name, { numberOfKeys: 2, lua: readScript(file) })
  }
  return redis as ScriptedRedis
}

/**
 * The shared cache: every instance reads and fills the same Redis entries and keeps no local
 * copy (a local copy could serve an old target for as long as an invalidation message takes to
 * arrive). Redis failures never fail a read: the error is counted, the cache turns `degraded`
 * and reads go to the source until a probe succeeds.
 *
 * A change never leaves an old value servable once `change()` resolves, whatever stops when:
 *
 * 1. **Fence, then write.** `link-cache-fence.lua` drops the entry and sets a fence that refuses
 *    every fill; only then does `apply()` write the database. If Redis cannot take the fence
 *    (down, frozen, unreachable), `change()` throws `CacheUnavailableError` and nothing is
 *    written: the caller answers 503, and no acknowledged change can be hidden by an entry this
 *    instance failed to remove (the invalidation is never left pending in memory, where a stop
 *    would lose it).
 * 2. **Write, then invalidate.** `link-cache-invalidate.lua` drops the entry again, raises the
 *    code's version floor (a fill loaded before the write and landing after it is refused) and
 *    lifts the fence. If that call fails, the fence stays until `fenceTtlMs`, then the floor-less
 *    entry can only be filled from the database as it is after the write.
 * 3. **Keys live in one Redis run.** Every key carries the `run_id` of the Redis process that
 *    answered (`INFO server`), re-read on each reconnect; until it is known, reads go to the
 *    source. An entry that survived a restart (AOF or RDB replay) or a failover to a replica
 *    that missed the last writes is never read again: a restarted Redis is a cold cache, never
 *    a stale one. Old runs' keys expire with their TTL.
 *
 * @example
 * ```ts
 * const cache = createRedisLinkCache({ redis, load: (code) => store.redirectEntry(code), version: (e) => e.version })
 * await cache.change(code, () => store.update(code, changes), (link) => link.updatedAt)
 * ```
 */
export function createRedisLinkCache<T extends object>({
  redis,
  load,
  version,
  ttlMs = 3_600_000,
  fenceTtlMs = 60_000,
  keyPrefix = 'url-shortener:link',
  probeIntervalMs = 1000,
  logger,
}: RedisLinkCacheOptions<T>): LinkCache<T> {
  const client = defineScripts(redis)
  const metaTtlMs = Math.max(ttlMs, fenceTtlMs)
  const counters = { hits: 0, misses: 0, errors: 0 }
  // A hash tag around the code keeps an entry and its meta key in one cluster slot.
  const entryKey = (run: string, code: string) => `${keyPrefix}:${run}:{${code}}`
  const metaKey = (run: string, code: string) => `${keyPrefix}:${run}:{${code}}:meta`

  let degraded = false
  let probe: NodeJS.Timeout | undefined
  let recovering = false

  function fail(error: unknown, operation: string): void {
    counters.errors++
    if (degraded) return
    degraded = true
    logger?.warn({ err: error, operation }, 'link cache: Redis failing, serving from the database')
    probe = setInterval(() => void recover(), probeIntervalMs)
    probe.unref()
  }

  async function recover(): Promise<void> {
    if (recovering) return
    recovering = true
    try {
      await client.ping()
      if (run === undefined) await readRun()
      if (run === undefined) return
      degraded = false
      clearInterval(probe)
      logger?.info({}, 'link cache: Redis back, cache in use again')
    } catch {
      // Still down: the next tick tries again.
    } finally {
      recovering = false
    }
  }

  let run: string | undefined
  let connection = 0
  let markReady!: () => void
  const firstRun = new Promise<void>((resolve) => (markReady = resolve))
  let reading: Promise<void> = Promise.resolve()

  /**
   * The run the keys live in: the `run_id` of the Redis process, or for a Cluster a digest of
   * every master's, so a restart or failover of any master starts a new namespace.
   */
  async function currentRun(): Promise<string | undefined> {
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis]
    const ids = (await Promise.all(nodes.map((node) => node.info('server')))).map(
      (info) => /^run_id:(\w+)/m.exec(info)?.[1]
    )
    if (ids.length === 0 || ids.some((id) => id === undefined)) return undefined
    const joined = ids.sort().join(',')
    return ids.length === 1
      ? joined.slice(0, 16)
      : createHash('sha256').update(joined).digest('hex').slice(0, 16)
  }

  /** Learns the run of the current connections; until then reads go to the source. */
  function readRun(): Promise<void> {
    const current = connection
    reading = currentRun().then(
      (found) => {
        // A reply from a connection that has closed since must not name the next one's run.
        if (current !== connection) return
        run = found
        if (run !== undefined) markReady()
      },
      (error: unknown) => fail(error, 'info')
    )
    return reading
  }
  function onReady(): void {
    // A connection opened for the first time (a Cluster connects to its nodes lazily) changes
    // no run; one that follows a close may be to a restarted Redis: read the run again.
    if (run !== undefined) return
    void readRun()
  }
  function onClose(): void {
    connection++
    run = undefined
  }
  /** Every connection whose restart could mean another run: the client, or each node. */
  function watch(client: Redis | Cluster): void {
    client.on('ready', onReady)
    client.on('close', onClose)
  }
  watch(redis)
  if (redis instanceof Cluster) {
    for (const node of redis.nodes()) watch(node)
    redis.on('+node', watch)
  }
  if (redis.status === 'ready') onReady()

  function fill(at: string, code: string, value: T): Promise<boolean> {
    return client
      .linkCacheFill(
        entryKey(at, code),
        metaKey(at, code),
        JSON.stringify(value),
        version(value),
        ttlMs
      )
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
      // The run is read once: the fill goes to the namespace the miss was seen in.
      const at = degraded ? undefined : run
      if (at !== undefined) {
        try {
          const cached = await client.get(entryKey(at, code))
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
      if (value !== undefined && at !== undefined && !degraded) void fill(at, code, value)
      return value
    },

    async change(code, apply, versionOf) {
      const fencedRun = run
      if (fencedRun === undefined) throw new CacheUnavailableError()
      const token = randomUUID()
      try {
        await client.linkCacheFence(
          entryKey(fencedRun, code),
          metaKey(fencedRun, code),
          token,
          fenceTtlMs,
          metaTtlMs
        )
      } catch (error) {
        fail(error, 'fence')
        throw new CacheUnavailableError({ cause: error })
      }
      // Synchronous, in the task that read the fence's reply: no other code of this process
      // runs between the fence and the write.
      const result = apply()
      const at = run ?? fencedRun
      try {
        await client.linkCacheInvalidate(
          entryKey(at, code),
          metaKey(at, code),
          result === undefined ? 0 : versionOf(result),
          at === fencedRun ? token : '',
          metaTtlMs
        )
      } catch (error) {
        fail(error, 'invalidate')
        logger?.warn({ code, fenceTtlMs }, 'link cache: change written, fence left to expire')
      }
      return result
    },

    async warm(entries) {
      await reading
      const at = degraded ? undefined : run
      if (at === undefined) return 0
      const results = await Promise.all([...entries].map(([code, value]) => fill(at, code, value)))
      return results.filter(Boolean).length
    },

    stats: () => ({ mode: 'redis', ...counters, degraded: degraded || run === undefined }),

    ready: () => firstRun,

    close() {
      clearInterval(probe)
      const clients = redis instanceof Cluster ? [redis, ...redis.nodes()] : [redis]
      for (const client of clients) {
        client.off('ready', onReady)
        client.off('close', onClose)
      }
      if (redis instanceof Cluster) redis.off('+node', watch)
    },
  }
}
