import { afterEach, describe, expect, it, vi } from 'vitest'
import { InvalidPolicyError, InvalidRequestError } from './errors.ts'
import { createMemoryLimiter } from './memory-limiter.ts'
import { ALGORITHMS } from './policy.ts'
import type { Algorithm, MemoryLimiter, Policy } from './types.ts'

const limiters: MemoryLimiter[] = []
afterEach(() => {
  for (const limiter of limiters.splice(0)) limiter.close()
  vi.useRealTimers()
})

function setup(algorithm: Algorithm, overrides: Partial<Policy> = {}, options = {}) {
  const clock = { now: 1_700_000_000_000 }
  const policy: Policy = { name: 'test', algorithm, limit: 100, windowMs: 1000, ...overrides }
  const limiter = createMemoryLimiter(policy, { clock: () => clock.now, ...options })
  limiters.push(limiter)
  return { clock, limiter }
}

describe.each(ALGORITHMS)('createMemoryLimiter (%s)', (algorithm) => {
  it('when 1,000 consumes race on one key with a limit of 100, admits exactly 100', async () => {
    const { limiter } = setup(algorithm)

    const decisions = await Promise.all(Array.from({ length: 1000 }, () => limiter.consume('k')))

    expect(decisions.filter((d) => d.allowed)).toHaveLength(100)
    expect(Math.min(...decisions.map((d) => d.remaining))).toBe(0)
  })

  it('when a denied key gets one unit refunded, the next request of cost 1 passes', async () => {
    const { limiter } = setup(algorithm, { limit: 3 })
    for (let i = 0; i < 3; i++) await limiter.consume('k')
    const denied = await limiter.consume('k')

    await limiter.refund('k', 1)
    const afterRefund = await limiter.consume('k')

    expect(denied.allowed).toBe(false)
    expect(afterRefund.allowed).toBe(true)
    expect(afterRefund.remaining).toBe(0)
  })

  it('when refunded more than was taken, stops at a full quota', async () => {
    const { limiter } = setup(algorithm, { limit: 5 })
    await limiter.consume('k', 2)

    await limiter.refund('k', 50)
    const peek = await limiter.consume('k', 0)

    expect(peek.remaining).toBe(5)
  })

  it('when reset, the key has its whole quota back', async () => {
    const { limiter } = setup(algorithm, { limit: 5 })
    await limiter.consume('k', 5)

    await limiter.reset('k')
    const decision = await limiter.consume('k', 5)

    expect(decision.allowed).toBe(true)
    expect(limiter.size).toBe(1)
  })

  it('when a request weighs more than one unit, consumes its whole cost', async () => {
    const { limiter } = setup(algorithm, { limit: 10 })

    const first = await limiter.consume('k', 7)
    const second = await limiter.consume('k', 4)
    const third = await limiter.consume('k', 3)

    expect([first.allowed, second.allowed, third.allowed]).toEqual([true, false, true])
    expect(third.remaining).toBe(0)
  })

  it('when decided with consumeNow, answers at once what consume answers, on the same state', async () => {
    const { limiter } = setup(algorithm, { limit: 3 })

    const sync = [limiter.consumeNow('k'), limiter.consumeNow('k', 2)]
    const async = await limiter.consume('k')

    expect(sync.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 0],
    ])
    expect(async.allowed).toBe(false)
    expect(() => limiter.consumeNow('k', 4)).toThrow(InvalidRequestError)
  })

  it('when a batch of 130 meets 100 units left, admits 100 and answers with the first denial', async () => {
    const { limiter } = setup(algorithm)
    const { limiter: oneByOne } = setup(algorithm)

    const batch = await limiter.consumeBatch('k', 1, 130)
    const decisions = await Promise.all(Array.from({ length: 130 }, () => oneByOne.consume('k')))

    expect(batch.admitted).toBe(100)
    expect(batch.decision).toEqual(decisions[100])
  })

  it('when a batch has a bad key or count or costs 0, throws InvalidRequestError naming it', async () => {
    const { limiter } = setup(algorithm)

    await expect(limiter.consumeBatch('', 1, 2)).rejects.toMatchObject({ field: 'key' })
    await expect(limiter.consumeBatch('k', 1, 0)).rejects.toMatchObject({ field: 'count' })
    await expect(limiter.consumeBatch('k', 1, 1.5)).rejects.toMatchObject({ field: 'count' })
    await expect(limiter.consumeBatch('k', 0, 2)).rejects.toMatchObject({ field: 'cost' })
  })

  it('when 10,000 keys go idle past their window, the sweep empties the store', async () => {
    const { clock, limiter } = setup(algorithm)
    for (let i = 0; i < 10_000; i++) await limiter.consume(`client-${i}`)
    const before = limiter.size

    clock.now += 2 * 60_000
    const evicted = limiter.sweep(Number.POSITIVE_INFINITY)

    expect(before).toBe(10_000)
    expect(evicted).toBe(10_000)
    expect(limiter.size).toBe(0)
  })

  it('when a cost 0 peek hits an unknown key, stores nothing', async () => {
    const { limiter } = setup(algorithm)

    const peek = await limiter.consume('unknown', 0)

    expect(peek).toMatchObject({ allowed: true, remaining: 100, retryAfterMs: 0 })
    expect(limiter.size).toBe(0)
  })
})

describe('createMemoryLimiter bounds', () => {
  it('when the sweep timer fires, it evicts expired keys without being called', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const { clock, limiter } = setup('fixed-window', {}, { sweepIntervalMs: 1000, sweepBatch: 400 })
    for (let i = 0; i < 1000; i++) await limiter.consume(`client-${i}`)

    clock.now += 5000
    vi.advanceTimersByTime(1000)
    const afterOneTick = limiter.size
    vi.advanceTimersByTime(2000)

    expect(afterOneTick).toBe(600)
    expect(limiter.size).toBe(0)
  })

  it('when an expired key is touched, it is replaced by a fresh state (lazy eviction)', async () => {
    const { clock, limiter } = setup('sliding-log', { limit: 1 })
    await limiter.consume('k')

    clock.now += 1000
    const decision = await limiter.consume('k')

    expect(decision.allowed).toBe(true)
    expect(limiter.size).toBe(1)
  })

  it('when maxKeys is reached, drops the least recently used key', async () => {
    const { limiter } = setup('fixed-window', { limit: 1 }, { maxKeys: 2 })
    await limiter.consume('a')
    await limiter.consume('b')
    await limiter.consume('a', 0)

    await limiter.consume('c')
    const b = await limiter.consume('b')
    const a = await limiter.consume('a', 0)

    expect(limiter.size).toBe(2)
    expect(b.allowed).toBe(true)
    expect(a.allowed).toBe(true)
  })
})

describe('createMemoryLimiter validation', () => {
  it('when the policy is malformed, throws naming every bad field', () => {
    const bad = { name: '', algorithm: 'leaky', limit: 0, windowMs: 1.5, burst: -1 }

    const error = (() => {
      try {
        createMemoryLimiter(bad as unknown as Policy)
      } catch (e) {
        return e
      }
    })()

    expect(error).toBeInstanceOf(InvalidPolicyError)
    expect((error as InvalidPolicyError).issues.map((i) => i.path)).toEqual([
      'name',
      'algorithm',
      'limit',
      'windowMs',
      'burst',
    ])
  })

  it.each([
    ['an empty key', '', 1, 'key'],
    ['a key over 512 bytes', 'é'.repeat(257), 1, 'key'],
    ['a negative cost', 'k', -1, 'cost'],
    ['a fractional cost', 'k', 1.5, 'cost'],
    ['an infinite cost', 'k', Number.POSITIVE_INFINITY, 'cost'],
    ['NaN', 'k', Number.NaN, 'cost'],
    ['a cost above the capacity', 'k', 11, 'cost'],
  ])(
    'when asked with %s, rejects with InvalidRequestError naming the field',
    async (_, key, cost, field) => {
      const { limiter } = setup('token-bucket', { limit: 5, burst: 10 })

      const attempt = limiter.consume(key, cost)

      await expect(attempt).rejects.toBeInstanceOf(InvalidRequestError)
      await expect(attempt).rejects.toMatchObject({ field })
    }
  )

  it('when a key is exactly 512 bytes, accepts it', async () => {
    const { limiter } = setup('gcra')

    const decision = await limiter.consume('é'.repeat(256))

    expect(decision.allowed).toBe(true)
  })
})
