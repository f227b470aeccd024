import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ALGORITHMS,
  capacityOf,
  createMemoryLimiter,
  createRedisLimiter,
  InvalidPolicyError,
  InvalidRequestError,
  MAX_BATCH,
  StoreUnavailableError,
  type Algorithm,
  type Decision,
  type Limiter,
  type Policy,
} from './index.ts'

// A real Redis, from the environment; keys under a prefix of this run's own.
const prefix = `test-limiter-redis-${randomUUID().slice(0, 8)}:`
let redis: Redis

beforeAll(() => {
  const url = process.env.REDIS_URL
  if (url === undefined) throw new Error('REDIS_URL must name a Redis for these tests')
  redis = new Redis(url, { enableAutoPipelining: true })
})

afterAll(async () => {
  await redis.quit()
})

/** Every key under this file's prefix with its PTTL. */
async function keysWithTtl(match = `${prefix}*`): Promise<Map<string, number>> {
  const keys: string[] = []
  for await (const batch of redis.scanStream({ match, count: 1000 }))
    keys.push(...(batch as string[]))
  const ttls = await Promise.all(keys.map((key) => redis.pttl(key)))
  return new Map(keys.map((key, i) => [key, ttls[i] as number]))
}

/** What Redis Cluster hashes to pick a slot: the text between the first `{` and the next `}`
 * when non-empty, else the whole key (Redis Cluster spec, "Hash tags"). */
function hashTag(key: string): string {
  const open = key.indexOf('{')
  const close = open === -1 ? -1 : key.indexOf('}', open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : key
}

/** Redis and the memory limiter use different clocks: keep scripted traces away from window
 * edges of an hour-long window so both see the same window. */
async function awayFromWindowEdge(windowMs: number): Promise<void> {
  const [seconds] = await redis.time()
  const intoWindow = (Number(seconds) * 1000) % windowMs
  if (intoWindow > windowMs - 5000) {
    await new Promise((resolve) => setTimeout(resolve, windowMs - intoWindow + 100))
  }
}

describe.each(ALGORITHMS)('createRedisLimiter (%s)', (algorithm: Algorithm) => {
  const policy: Policy = { name: `parity-${algorithm}`, algorithm, limit: 10, windowMs: 3_600_000 }

  it('when replaying a scripted trace, decides exactly like the memory limiter', async () => {
    await awayFromWindowEdge(policy.windowMs)
    const store = createRedisLimiter(policy, { redis, prefix })
    const memory = createMemoryLimiter(policy)
    const key = `trace-${algorithm}`
    type Step = (l: Limiter) => Promise<Decision | undefined>
    const steps: Step[] = [
      (l) => l.consume(key),
      (l) => l.consume(key, 3),
      (l) => l.consume(key, 5),
      (l) => l.consume(key, 2),
      (l) => l.consume(key, 0),
      async (l) => void (await l.refund(key, 4)),
      (l) => l.consume(key, 3),
      (l) => l.consume(key, 2),
      async (l) => void (await l.reset(key)),
      (l) => l.consume(key, 10),
      (l) => l.consume(key),
    ]

    const fromRedis: (Decision | undefined)[] = []
    const fromMemory: (Decision | undefined)[] = []
    for (const step of steps) {
      fromRedis.push(await step(store))
      fromMemory.push(await step(memory))
    }
    memory.close()

    const shape = (d: Decision | undefined) => d && [d.allowed, d.remaining]
    expect(fromRedis.map(shape)).toEqual(fromMemory.map(shape))
    fromRedis.forEach((d, i) => {
      const m = fromMemory[i]
      if (d === undefined || m === undefined) return
      // Different clocks, a few ms apart.
      expect(Math.abs(d.resetMs - m.resetMs)).toBeLessThan(250)
      expect(Math.abs(d.retryAfterMs - m.retryAfterMs)).toBeLessThan(250)
    })
    expect(fromRedis.filter((d) => d && !d.allowed).length).toBeGreaterThan(0)
  })

  it('when a batch is decided in one script call, answers as the same consumes one by one', async () => {
    await awayFromWindowEdge(policy.windowMs)
    const store = createRedisLimiter(policy, { redis, prefix })
    const batchKey = `batch-${algorithm}`
    const oneKey = `one-by-one-${algorithm}`
    // Limit 10: all four pass (6 left), both pass (2 left), none fits, two of five pass.
    const batches = [
      { cost: 1, count: 4 },
      { cost: 2, count: 2 },
      { cost: 3, count: 3 },
      { cost: 1, count: 5 },
    ]

    const admitted: number[] = []
    for (const { cost, count } of batches) {
      const batch = await store.consumeBatch(batchKey, cost, count)
      const oneByOne: Decision[] = []
      for (let i = 0; i < count; i++) oneByOne.push(await store.consume(oneKey, cost))
      const passed = oneByOne.filter((d) => d.allowed).length
      // The batch reports the last admitted decision, or the first denied one.
      const reference = oneByOne[passed < count ? passed : count - 1] as Decision

      expect(batch.admitted).toBe(passed)
      expect([batch.decision.allowed, batch.decision.remaining]).toEqual([
        reference.allowed,
        reference.remaining,
      ])
      // Two keys, a few ms apart.
      expect(Math.abs(batch.decision.retryAfterMs - reference.retryAfterMs)).toBeLessThan(250)
      expect(Math.abs(batch.decision.resetMs - reference.resetMs)).toBeLessThan(250)
      admitted.push(passed)
    }
    expect(admitted).toEqual([4, 2, 0, 2])
  })

  it('when a client is limited, keeps every key it wrote under one hash tag and with a TTL', async () => {
    // A minute, away from its edge: no key expires between the consumes and the scan, however
    // busy the machine (a fixed window's key lives until its window ends).
    const limiter = createRedisLimiter({ ...policy, windowMs: 60_000 }, { redis, prefix })
    const key = `layout-${algorithm}`
    await awayFromWindowEdge(60_000)

    for (let i = 0; i < 12; i++) await limiter.consume(key)
    const keys = await keysWithTtl(`${prefix}{${key}}*`)
    const tags = [...keys.keys()].map(hashTag)

    expect(keys.size).toBe(algorithm === 'sliding-log' ? 2 : 1)
    for (const ttl of keys.values()) {
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(120_000)
    }
    expect(new Set(tags)).toEqual(new Set([key]))
  })

  it('when 10,000 distinct keys are consumed, refunded and denied, leaves no key without a TTL', async () => {
    const own = `${prefix}r2-${algorithm}:`
    const limiter = createRedisLimiter(
      { ...policy, limit: 2, windowMs: 60_000 },
      { redis, prefix: own }
    )
    const capacity = capacityOf(limiter.policy)

    await Promise.all(
      Array.from({ length: 10_000 }, async (_, i) => {
        const key = `client-${i}`
        await limiter.consume(key, i % 3 === 0 ? capacity : 1)
        if (i % 5 === 0) await limiter.refund(key, 1)
        if (i % 7 === 0) await limiter.consume(key, capacity)
        if (i % 11 === 0) await limiter.consumeBatch(key, 1, 3)
      })
    )
    const ttls = await keysWithTtl(`${own}*`)

    // Keys refunded back to empty are deleted, the rest must all carry a TTL.
    expect(ttls.size).toBeGreaterThanOrEqual(8000)
    expect([...ttls.values()].filter((ttl) => ttl < 0)).toEqual([])
  })

  it('when Redis is unreachable, rejects with StoreUnavailableError', async () => {
    const closed = new Redis(process.env.REDIS_URL as string, {
      lazyConnect: true,
      enableOfflineQueue: false,
    })
    const limiter = createRedisLimiter(policy, { redis: closed, prefix })

    const attempt = limiter.consume('k')

    await expect(attempt).rejects.toBeInstanceOf(StoreUnavailableError)
    closed.disconnect()
  })
})

describe('createRedisLimiter', () => {
  it('when the sliding log must page through more than 100 entries to find the retry time, finds it', async () => {
    const policy: Policy = {
      name: 'long-log',
      algorithm: 'sliding-log',
      limit: 250,
      windowMs: 60_000,
    }
    const limiter = createRedisLimiter(policy, { redis, prefix })

    for (let i = 0; i < 250; i++) await limiter.consume('paging')
    const denied = await limiter.consume('paging', 200)

    expect(denied.allowed).toBe(false)
    expect(denied.remaining).toBe(0)
    expect(denied.retryAfterMs).toBeGreaterThan(50_000)
    expect(denied.retryAfterMs).toBeLessThanOrEqual(60_000)
  })

  it('when the key or cost is invalid, rejects before any round trip', async () => {
    const limiter = createRedisLimiter(
      { name: 'v', algorithm: 'gcra', limit: 5, windowMs: 1000 },
      { redis, prefix }
    )

    await expect(limiter.consume('x'.repeat(513))).rejects.toBeInstanceOf(InvalidRequestError)
    await expect(limiter.consume('k', 6)).rejects.toBeInstanceOf(InvalidRequestError)
    await expect(limiter.refund('k', -1)).rejects.toBeInstanceOf(InvalidRequestError)
    await expect(limiter.consumeBatch('k', 1, MAX_BATCH + 1)).rejects.toMatchObject({
      field: 'count',
    })
    await expect(limiter.consumeBatch('k', 0, 2)).rejects.toMatchObject({ field: 'cost' })
  })

  it('when the prefix holds a brace, refuses it (it would break the hash tag)', () => {
    const policy: Policy = { name: 'v', algorithm: 'gcra', limit: 5, windowMs: 1000 }

    expect(() => createRedisLimiter(policy, { redis, prefix: 'a{b}:' })).toThrow(InvalidPolicyError)
  })
})
