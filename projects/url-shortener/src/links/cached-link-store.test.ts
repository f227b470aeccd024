import { startRedisServer, uniqueName, waitFor } from '@kit/testing'
import type { RedisServer } from '@kit/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createCachedLinkStore } from './cached-link-store.ts'

type Entry = { target: string; version: number }

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

// Request-path settings, as @kit/redis gives them: fail fast while Redis is down.
function requestClient(url: string): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    retryStrategy: () => 50,
  })
  client.on('error', () => {})
  return client
}

describe('createCachedLinkStore (in-process LRU)', () => {
  it('when a code is read twice, loads it once', async () => {
    const source = createSource()
    source.rows.set('abc', { target: 'https://a.example/', version: 1 })
    const cache = createCachedLinkStore({ load: source.load, version: (e) => e.version })

    const first = await cache.get('abc')
    const second = await cache.get('abc')

    expect(first).toEqual({ target: 'https://a.example/', version: 1 })
    expect(second).toEqual(first)
    expect(source.loads).toBe(1)
    expect(cache.stats()).toMatchObject({ mode: 'memory', hits: 1, misses: 1 })
  })

  it('when a code is invalidated, the next read sees the new value', async () => {
    const source = createSource()
    source.rows.set('abc', { target: 'https://old.example/', version: 1 })
    const cache = createCachedLinkStore({ load: source.load, version: (e) => e.version })
    await cache.get('abc')

    source.rows.set('abc', { target: 'https://new.example/', version: 2 })
    await cache.invalidate('abc', 2)

    expect(await cache.get('abc')).toEqual({ target: 'https://new.example/', version: 2 })
  })

  it('when the LRU is full, evicts the least recently used code', async () => {
    const source = createSource()
    for (const code of ['a', 'b', 'c']) source.rows.set(code, { target: code, version: 1 })
    const cache = createCachedLinkStore({
      load: source.load,
      version: (e) => e.version,
      maxEntries: 2,
    })

    await cache.get('a')
    await cache.get('b')
    await cache.get('a')
    await cache.get('c')
    await cache.get('a')
    await cache.get('b')

    expect(source.loads).toBe(4)
  })
})

describe('createCachedLinkStore (Redis)', () => {
  const redis = requestClient(inject('redisUrl'))
  const keyPrefix = uniqueName('link-cache')
  beforeAll(() => waitFor(() => redis.status === 'ready'))
  afterAll(() => redis.quit())

  it('when a code is read, fills Redis; a second instance then hits without loading', async () => {
    const source = createSource()
    source.rows.set('abc', { target: 'https://a.example/', version: 1 })
    const a = createCachedLinkStore({
      load: source.load,
      version: (e) => e.version,
      redis,
      keyPrefix,
    })
    const b = createCachedLinkStore({
      load: source.load,
      version: (e) => e.version,
      redis,
      keyPrefix,
    })

    await a.get('abc')
    await waitFor(() => redis.exists(`${keyPrefix}:{abc}`))
    const fromB = await b.get('abc')

    expect(fromB).toEqual({ target: 'https://a.example/', version: 1 })
    expect(source.loads).toBe(1)
    expect(b.stats()).toMatchObject({ mode: 'redis', hits: 1, misses: 0, degraded: false })
  })

  it('when one instance invalidates, the other reads the new value at once', async () => {
    const source = createSource()
    source.rows.set('edit', { target: 'https://old.example/', version: 1 })
    const a = createCachedLinkStore({
      load: source.load,
      version: (e) => e.version,
      redis,
      keyPrefix,
    })
    const b = createCachedLinkStore({
      load: source.load,
      version: (e) => e.version,
      redis,
      keyPrefix,
    })
    await a.warm([['edit', { target: 'https://old.example/', version: 1 }]])

    source.rows.set('edit', { target: 'https://new.example/', version: 2 })
    await a.invalidate('edit', 2)

    expect(await b.get('edit')).toEqual({ target: 'https://new.example/', version: 2 })
  })

  it('when a fill loaded before an invalidation lands after it, Redis refuses it', async () => {
    const source = createSource()
    source.rows.set('race', { target: 'https://old.example/', version: 5 })
    const readerRedis = requestClient(inject('redisUrl'))
    await waitFor(() => readerRedis.status === 'ready')
    const reader = createCachedLinkStore({
      load: source.load,
      version: (e) => e.version,
      redis: readerRedis,
      keyPrefix,
    })
    const writer = createCachedLinkStore({
      load: source.load,
      version: (e) => e.version,
      redis,
      keyPrefix,
    })
    // Hold the reader's fill between its load and Redis, as a slow network would.
    const scripted = readerRedis as unknown as Record<
      string,
      (...args: unknown[]) => Promise<number>
    >
    const realFill = scripted.linkCacheFill?.bind(readerRedis) as (
      ...args: unknown[]
    ) => Promise<number>
    let release: () => Promise<number> = async () => -1
    scripted.linkCacheFill = (...args) =>
      new Promise((resolve) => {
        release = () => {
          const landed = realFill(...args)
          resolve(landed)
          return landed
        }
      })

    const served = await reader.get('race')
    source.rows.set('race', { target: 'https://new.example/', version: 6 })
    await writer.invalidate('race', 6)
    const stored = await release()

    expect(served).toEqual({ target: 'https://old.example/', version: 5 })
    expect(stored).toBe(0)
    expect(await redis.get(`${keyPrefix}:{race}`)).toBeNull()
    expect(await writer.get('race')).toEqual({ target: 'https://new.example/', version: 6 })
    readerRedis.disconnect()
  })
})

describe('createCachedLinkStore (Redis outage)', () => {
  let server: RedisServer
  let redis: Redis
  beforeAll(async () => {
    server = await startRedisServer()
    redis = requestClient(server.url)
    await waitFor(() => redis.status === 'ready')
  })
  afterAll(async () => {
    redis.disconnect()
    await server.stop()
  })

  it('when Redis dies, reads come from the source and an invalidation made meanwhile is replayed', async () => {
    const source = createSource()
    source.rows.set('out', { target: 'https://old.example/', version: 1 })
    const keyPrefix = uniqueName('outage')
    const cache = createCachedLinkStore({
      load: source.load,
      version: (e) => e.version,
      redis,
      keyPrefix,
      probeIntervalMs: 50,
    })
    await cache.warm([['out', { target: 'https://old.example/', version: 1 }]])

    await server.pause()
    source.rows.set('out', { target: 'https://new.example/', version: 2 })
    const duringOutage = await cache.get('out')
    await cache.invalidate('out', 2)
    const statsDuringOutage = cache.stats()
    server.resume()

    expect(duringOutage).toEqual({ target: 'https://new.example/', version: 2 })
    expect(statsDuringOutage).toMatchObject({ degraded: true, pendingInvalidations: 1 })
    await waitFor(() => !cache.stats().degraded, { message: 'cache never recovered' })
    expect(cache.stats().pendingInvalidations).toBe(0)
    expect(await redis.get(`${keyPrefix}:{out}`)).toBeNull()
    expect(await cache.get('out')).toEqual({ target: 'https://new.example/', version: 2 })
    cache.close()
  })
})
