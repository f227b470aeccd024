import { randomUUID } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisConcurrencyLimiter, type ConcurrencyLease } from './concurrency-limiter.ts'

/** Asks `acquire` every 50 ms until it grants a slot, for at most `timeoutMs`. */
async function acquiredWithin(
  acquire: () => Promise<ConcurrencyLease>,
  timeoutMs: number
): Promise<ConcurrencyLease> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const lease = await acquire()
    if (lease.acquired || performance.now() > deadline) return lease
    await delay(50)
  }
}

describe('createRedisConcurrencyLimiter', () => {
  // A real Redis, from the environment; keys under a prefix of this run's own.
  const prefix = `test-concurrency-${randomUUID().slice(0, 8)}:`
  let redis: Redis

  beforeAll(() => {
    const url = process.env.REDIS_URL
    if (url === undefined) throw new Error('REDIS_URL must name a Redis for these tests')
    redis = new Redis(url)
  })
  afterAll(async () => {
    await redis.quit()
  })

  it('when the limit is reached across two instances, refuses until a slot is released', async () => {
    const instanceA = createRedisConcurrencyLimiter({ redis, limit: 2, prefix })
    const instanceB = createRedisConcurrencyLimiter({ redis, limit: 2, prefix })
    const first = await instanceA.acquire('client')
    await instanceB.acquire('client')

    const refused = await instanceA.acquire('client')
    if (first.acquired) await first.release()
    const afterRelease = await instanceB.acquire('client')

    expect(refused).toEqual({ acquired: false, limit: 2, inFlight: 2 })
    expect(afterRelease).toMatchObject({ acquired: true, inFlight: 2 })
  })

  it('when many acquire at once, admits exactly the limit (one Lua script per acquire)', async () => {
    const limiter = createRedisConcurrencyLimiter({ redis, limit: 5, prefix })

    const leases = await Promise.all(Array.from({ length: 50 }, () => limiter.acquire('burst')))

    expect(leases.filter((lease) => lease.acquired)).toHaveLength(5)
  })

  it('when a holder crashes without releasing, its slot comes back after the lease', async () => {
    const crashed = createRedisConcurrencyLimiter({ redis, limit: 1, leaseMs: 300, prefix })
    const survivor = createRedisConcurrencyLimiter({ redis, limit: 1, leaseMs: 300, prefix })
    await crashed.acquire('leaky') // never released: the instance "died"

    const whileHeld = await survivor.acquire('leaky')
    const reclaimed = await acquiredWithin(() => survivor.acquire('leaky'), 2000)

    expect(whileHeld.acquired).toBe(false)
    expect(reclaimed.acquired).toBe(true)
  })

  it('when a key is idle, leaves no immortal key behind (the set expires with its lease)', async () => {
    const limiter = createRedisConcurrencyLimiter({ redis, limit: 3, leaseMs: 10_000, prefix })
    const lease = await limiter.acquire('ttl')

    const ttl = await redis.pttl(`${prefix}{ttl}`)

    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(10_000)
    if (lease.acquired) await lease.release()
    expect(await redis.zcard(`${prefix}{ttl}`)).toBe(0)
  })

  it('when release is called twice, removes the lease once and does not touch another', async () => {
    const limiter = createRedisConcurrencyLimiter({ redis, limit: 2, prefix })
    const first = await limiter.acquire('twice')
    await limiter.acquire('twice')

    if (first.acquired) {
      await first.release()
      await first.release()
    }

    expect(await redis.zcard(`${prefix}{twice}`)).toBe(1)
  })
})
