import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CacheUnavailableError } from './link-cache.ts'
import { createRedisLinkCache } from './redis-link-cache.ts'

type Entry = { target: string; version: number }

// The test run's redis-server (the kit's vitest global setup sets it; a copier sets it).
const REDIS_URL = process.env.REDIS_URL
if (!REDIS_URL) throw new Error('Set REDIS_URL to a Redis these tests may write to')

/** A tiny source of truth: a Map with a load counter. */
function createSource() {
  const rows = new Map<string, Entry>()
  let loads = 0
  return {
    rows,
    load: (code: string) => {
      loads++
      return rows.get(code)
    },
    get loads() {
      return loads
    },
  }
}

/** Request-path settings: fail fast while Redis is down. */
function requestClient(url: string = REDIS_URL as string): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    retryStrategy: () => 50,
  })
  client.on('error', () => {})
  return client
}

async function ready(client: Redis): Promise<Redis> {
  if (client.status !== 'ready') await once(client, 'ready')
  return client
}

/** Resolves once `check` is true, polling each turn of the event loop for at most 5 s. */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const prefix = () => `test-link-cache-${randomUUID()}`

describe('createRedisLinkCache', () => {
  let redis: Redis
  let run: string
  beforeAll(async () => {
    redis = await ready(requestClient())
    run = (/^run_id:(\w+)/m.exec(await redis.info('server'))?.[1] ?? '').slice(0, 16)
  })
  afterAll(() => redis.quit())

  function cacheOf(source: ReturnType<typeof createSource>, keyPrefix: string, client = redis) {
    return createRedisLinkCache({
      redis: client,
      load: source.load,
      version: (e) => e.version,
      keyPrefix,
    })
  }

  it("when a code is read, fills Redis under the server's run; a second instance then hits without loading", async () => {
    const source = createSource()
    source.rows.set('abc', { target: 'https://a.example/', version: 1 })
    const keyPrefix = prefix()
    const a = cacheOf(source, keyPrefix)
    const b = cacheOf(source, keyPrefix)
    await until(() => !a.stats().degraded && !b.stats().degraded)

    await a.get('abc')
    await until(async () => (await redis.exists(`${keyPrefix}:${run}:{abc}`)) === 1)
    const fromB = await b.get('abc')

    expect(run).toMatch(/^[0-9a-f]{16}$/)
    expect(fromB).toEqual({ target: 'https://a.example/', version: 1 })
    expect(source.loads).toBe(1)
    expect(b.stats()).toMatchObject({ mode: 'redis', hits: 1, misses: 0, degraded: false })
    a.close()
    b.close()
  })

  it('when one instance changes a code, the other reads the new value at once', async () => {
    const source = createSource()
    const keyPrefix = prefix()
    const a = cacheOf(source, keyPrefix)
    const b = cacheOf(source, keyPrefix)
    await until(() => !a.stats().degraded && !b.stats().degraded)
    await a.warm([['edit', { target: 'https://old.example/', version: 1 }]])
    const before = await b.get('edit')

    await a.change(
      'edit',
      () => {
        source.rows.set('edit', { target: 'https://new.example/', version: 2 })
        return 2
      },
      (version) => version
    )

    expect(before).toEqual({ target: 'https://old.example/', version: 1 })
    expect(await b.get('edit')).toEqual({ target: 'https://new.example/', version: 2 })
    a.close()
    b.close()
  })

  it('when a fill loaded before a change lands after it, Redis refuses it', async () => {
    const source = createSource()
    source.rows.set('race', { target: 'https://old.example/', version: 5 })
    const keyPrefix = prefix()
    const readerRedis = await ready(requestClient())
    const reader = cacheOf(source, keyPrefix, readerRedis)
    const writer = cacheOf(source, keyPrefix)
    await until(() => !reader.stats().degraded && !writer.stats().degraded)
    // Hold the reader's fill between its load and Redis, as a slow network would.
    const scripted = readerRedis as unknown as Record<
      string,
      (...args: unknown[]) => Promise<number>
    >
    const realFill = (scripted.linkCacheFill as (...args: unknown[]) => Promise<number>).bind(
      readerRedis
    )
    let release: () => Promise<number> = () => Promise.resolve(-1)
    scripted.linkCacheFill = (...args) =>
      new Promise((resolve) => {
        release = () => {
          const landed = realFill(...args)
          resolve(landed)
          return landed
        }
      })

    const served = await reader.get('race')
    await writer.change(
      'race',
      () => {
        source.rows.set('race', { target: 'https://new.example/', version: 6 })
        return 6
      },
      (version) => version
    )
    const stored = await release()

    expect(served).toEqual({ target: 'https://old.example/', version: 5 })
    expect(stored).toBe(0)
    expect(await redis.get(`${keyPrefix}:${run}:{race}`)).toBeNull()
    expect(await writer.get('race')).toEqual({ target: 'https://new.example/', version: 6 })
    reader.close()
    writer.close()
    readerRedis.disconnect()
  })

  it('when Redis cannot be reached, a change is refused before it is applied and reads come from the source', async () => {
    const source = createSource()
    source.rows.set('down', { target: 'https://a.example/', version: 1 })
    // Port 9 (discard) has no Redis: every connection attempt is refused.
    const unreachable = requestClient('redis://127.0.0.1:9')
    const cache = cacheOf(source, prefix(), unreachable)
    let applied = false

    const change = cache.change(
      'down',
      () => {
        applied = true
        return 1
      },
      (version) => version
    )

    await expect(change).rejects.toThrow(CacheUnavailableError)
    expect(applied).toBe(false)
    expect(await cache.get('down')).toEqual({ target: 'https://a.example/', version: 1 })
    expect(cache.stats()).toMatchObject({ degraded: true, hits: 0 })
    cache.close()
    unreachable.disconnect()
  })
})

describe('link-cache Lua scripts', () => {
  let redis: Redis & Record<string, (...args: (string | number)[]) => Promise<number>>
  beforeAll(async () => {
    redis = (await ready(requestClient())) as typeof redis
    for (const [name, file] of [
      ['fill', 'link-cache-fill.lua'],
      ['fence', 'link-cache-fence.lua'],
      ['invalidate', 'link-cache-invalidate.lua'],
    ]) {
      redis.defineCommand(name as string, {
        numberOfKeys: 2,
        lua: readFileSync(new URL(`./${file}`, import.meta.url), 'utf8'),
      })
    }
  })
  afterAll(() => redis.quit())

  it("when two writers fence one code, one writer's invalidation does not lift the other's fence", async () => {
    const entry = `${prefix()}:run:{code}`
    const meta = `${entry}:meta`
    const fill = (version: number) => redis.fill!(entry, meta, `{"v":${version}}`, version, 60_000)

    const beforeAny = await fill(1)
    await redis.fence!(entry, meta, 'writer-a', 60_000, 60_000)
    await redis.fence!(entry, meta, 'writer-b', 60_000, 60_000)
    const whileFenced = await fill(9)
    await redis.invalidate!(entry, meta, 2, 'writer-b', 60_000)
    const afterB = await fill(9)
    await redis.invalidate!(entry, meta, 3, 'writer-a', 60_000)
    const older = await fill(2)
    const current = await fill(3)

    expect([beforeAny, whileFenced, afterB, older, current]).toEqual([1, 0, 0, 0, 1])
    expect(await redis.get(entry)).toBe('{"v":3}')
  })

  it('when a fence outlives its lifetime (its writer died), fills resume', async () => {
    const entry = `${prefix()}:run:{code}`
    const meta = `${entry}:meta`

    await redis.fence!(entry, meta, 'dead-writer', 50, 60_000)
    const fenced = await redis.fill!(entry, meta, '{}', 1, 60_000)
    await until(async () => (await redis.fill!(entry, meta, '{}', 1, 60_000)) === 1)

    expect(fenced).toBe(0)
    expect(await redis.get(entry)).toBe('{}')
  })
})
