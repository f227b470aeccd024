import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createPresence, type PresenceOptions } from './presence.ts'
import { createThrottle } from './typing-throttle.ts'

const redisUrl = process.env.REDIS_URL
if (!redisUrl) throw new Error('REDIS_URL must point at a redis-server for these tests')
const redis = new Redis(redisUrl)
afterAll(() => redis.quit())

/** Two instances sharing one store (Redis, or one process's memory when redis is absent). */
function twoInstances(backend: 'redis' | 'memory') {
  let clock = 1_000_000
  const prefix = `test-${randomUUID()}:`
  const make = (instanceId: string) => {
    const options: PresenceOptions = { instanceId, ttlMs: 30_000, prefix, now: () => clock }
    return createPresence(backend === 'redis' ? { ...options, redis } : options)
  }
  return { a: make('a'), b: make('b'), tick: (ms: number) => (clock += ms) }
}

describe('createPresence() on Redis', () => {
  it('when a user has connections on two instances, stays online until the last one leaves', async () => {
    const { a, b } = twoInstances('redis')

    expect(await a.enter('r', 'ada')).toBe(true)
    expect(await a.enter('r', 'ada')).toBe(false)
    expect(await b.enter('r', 'ada')).toBe(true)
    expect(await b.enter('r', 'bob')).toBe(true)
    expect(await a.online('r')).toEqual(['ada', 'bob'])

    expect(await a.exit('r', 'ada')).toBe(false)
    expect(await a.exit('r', 'ada')).toBe(false)
    expect(await b.exit('r', 'ada')).toBe(true)
    expect(await b.online('r')).toEqual(['bob'])
  })

  it('when an instance dies, its users expire after the TTL and one sweep reports them', async () => {
    const { a, b, tick } = twoInstances('redis')
    await a.enter('r', 'ada')
    await a.enter('r', 'cy')
    await b.enter('r', 'cy')

    tick(20_000)
    await b.refresh()
    tick(15_000)

    expect(await b.online('r')).toEqual(['cy'])
    expect(await b.sweep('r')).toEqual(['ada'])
    expect(await a.sweep('r')).toEqual([])
  })

  it('when an instance keeps refreshing, its users never expire', async () => {
    const { a, b, tick } = twoInstances('redis')
    await a.enter('r', 'ada')

    for (let i = 0; i < 5; i++) {
      tick(20_000)
      await a.refresh()
    }

    expect(await b.sweep('r')).toEqual([])
    expect(await b.online('r')).toEqual(['ada'])
  })

  it('when an instance closes, its users leave at once', async () => {
    const { a, b } = twoInstances('redis')
    await a.enter('r1', 'ada')
    await a.enter('r2', 'ada')

    await a.close()

    expect(await b.online('r1')).toEqual([])
    expect(await b.online('r2')).toEqual([])
  })
})

describe('createPresence() in memory', () => {
  it('when connections come and go, counts them per user and expires unrefreshed entries', async () => {
    const { a, tick } = twoInstances('memory')

    expect(await a.enter('r', 'ada')).toBe(true)
    expect(await a.enter('r', 'ada')).toBe(false)
    expect(await a.exit('r', 'ada')).toBe(false)
    expect(await a.online('r')).toEqual(['ada'])
    expect(a.rooms()).toEqual(['r'])
    tick(31_000)

    expect(await a.online('r')).toEqual([])
    expect(await a.sweep('r')).toEqual(['ada'])
    expect(await a.exit('r', 'ada')).toBe(true)
    expect(a.rooms()).toEqual([])
  })
})

describe('createThrottle()', () => {
  it('when a key fires repeatedly, lets one through per interval and forgets idle keys', () => {
    let clock = 0
    const throttle = createThrottle({ intervalMs: 1000, now: () => clock })

    const first = [throttle.allow('r:ada'), throttle.allow('r:ada'), throttle.allow('r:bob')]
    clock = 999
    const early = throttle.allow('r:ada')
    clock = 1000
    const onTime = throttle.allow('r:ada')
    clock = 5000
    throttle.allow('r:cy')

    expect(first).toEqual([true, false, true])
    expect(early).toBe(false)
    expect(onTime).toBe(true)
    expect(throttle.size()).toBe(1)
  })
})
