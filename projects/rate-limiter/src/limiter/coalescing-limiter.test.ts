import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { createCoalescingLimiter } from './coalescing-limiter.ts'
import { InvalidRequestError, StoreUnavailableError } from './errors.ts'
import { createMemoryLimiter } from './memory-limiter.ts'
import { ALGORITHMS, MAX_BATCH } from './policy.ts'
import type { Algorithm, BatchLimiter, Decision, MemoryLimiter, Policy } from './types.ts'

const opened: MemoryLimiter[] = []
afterEach(() => {
  for (const limiter of opened.splice(0)) limiter.close()
})

/** A memory limiter on a fake clock, as the store. */
function store(policy: Policy, clock: { now: number }): MemoryLimiter {
  const limiter = createMemoryLimiter(policy, { clock: () => clock.now, sweepIntervalMs: 0 })
  opened.push(limiter)
  return limiter
}

type StoreCall = { key: string; cost: number; count: number }

/** Records every call the store receives (a consume is a batch of one). */
function counting(limiter: BatchLimiter): BatchLimiter & { calls: StoreCall[] } {
  const calls: StoreCall[] = []
  return {
    ...limiter,
    calls,
    consume(key, cost = 1) {
      calls.push({ key, cost, count: 1 })
      return limiter.consume(key, cost)
    },
    consumeBatch(key, cost, count) {
      calls.push({ key, cost, count })
      return limiter.consumeBatch(key, cost, count)
    },
  }
}

/** A coalescing limiter whose flush runs when the test says. */
function setup(inner: BatchLimiter) {
  let flush: (() => void) | undefined
  const limiter = createCoalescingLimiter(inner, { schedule: (f) => (flush = f) })
  return {
    limiter,
    settle: <T>(pending: Promise<T>[]): Promise<T[]> => {
      flush?.()
      flush = undefined
      return Promise.all(pending)
    },
  }
}

const policyOf = (algorithm: Algorithm, limit: number, windowMs = 1000): Policy => ({
  name: 'p',
  algorithm,
  limit,
  windowMs,
})

function consumeMany(
  limiter: BatchLimiter | ReturnType<typeof setup>['limiter'],
  key: string,
  n: number,
  cost = 1
): Promise<Decision>[] {
  return Array.from({ length: n }, () => limiter.consume(key, cost))
}

describe('createCoalescingLimiter', () => {
  it('when 50 consumes of one key arrive before a flush, makes one store call and admits all with the remaining counting down', async () => {
    const inner = counting(store(policyOf('fixed-window', 100), { now: 0 }))
    const { limiter, settle } = setup(inner)

    const decisions = await settle(consumeMany(limiter, 'k', 50))

    expect(inner.calls).toEqual([{ key: 'k', cost: 1, count: 50 }])
    expect(decisions.every((d) => d.allowed)).toBe(true)
    expect(decisions.map((d) => d.remaining)).toEqual(Array.from({ length: 50 }, (_, i) => 99 - i))
  })

  it('when a batch only partly fits, admits exactly the room left, first come first served, in one store call', async () => {
    const clock = { now: 0 }
    const inner = counting(store(policyOf('sliding-log', 10), clock))
    const { limiter, settle } = setup(inner)
    await settle(consumeMany(limiter, 'k', 7))
    inner.calls.length = 0

    const decisions = await settle(consumeMany(limiter, 'k', 5))

    expect(inner.calls).toEqual([{ key: 'k', cost: 1, count: 5 }])
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false])
    expect(decisions[2]?.remaining).toBe(0)
  })

  it('when the key is already over its limit, answers a batch with one store call and the retry time of a single request', async () => {
    const clock = { now: 0 }
    const policy = policyOf('token-bucket', 10)
    const inner = counting(store(policy, clock))
    const reference = store(policy, clock)
    const { limiter, settle } = setup(inner)
    await settle(consumeMany(limiter, 'k', 10))
    for (let i = 0; i < 10; i++) await reference.consume('k')
    inner.calls.length = 0

    const decisions = await settle(consumeMany(limiter, 'k', 8))

    expect(inner.calls).toEqual([{ key: 'k', cost: 1, count: 8 }])
    const single = await reference.consume('k')
    expect(decisions.every((d) => !d.allowed && d.retryAfterMs === single.retryAfterMs)).toBe(true)
  })

  it('when a batch is larger than MAX_BATCH, goes in chunks of MAX_BATCH and still admits exactly the limit, first come first served', async () => {
    const limit = MAX_BATCH + 200
    const inner = counting(store(policyOf('gcra', limit), { now: 0 }))
    const { limiter, settle } = setup(inner)

    const decisions = await settle(consumeMany(limiter, 'k', 2 * MAX_BATCH + 10))

    expect(inner.calls.map((call) => call.count)).toEqual([MAX_BATCH, MAX_BATCH, 10])
    const allowed = decisions.map((d) => d.allowed)
    expect(allowed.indexOf(false)).toBe(limit)
    expect(allowed.lastIndexOf(true)).toBe(limit - 1)
  })

  it('when keys and costs differ, batches them apart', async () => {
    const inner = counting(store(policyOf('fixed-window', 100), { now: 0 }))
    const { limiter, settle } = setup(inner)

    await settle([
      ...consumeMany(limiter, 'a', 3),
      ...consumeMany(limiter, 'b', 2),
      ...consumeMany(limiter, 'a', 2, 5),
    ])

    expect(inner.calls).toEqual(
      expect.arrayContaining([
        { key: 'a', cost: 1, count: 3 },
        { key: 'b', cost: 1, count: 2 },
        { key: 'a', cost: 5, count: 2 },
      ])
    )
    expect(inner.calls).toHaveLength(3)
  })

  it('when the store fails, rejects every consume of the batch with its error', async () => {
    const failure = new StoreUnavailableError('down')
    const broken: BatchLimiter = {
      policy: policyOf('fixed-window', 100),
      consume: () => Promise.reject(failure),
      consumeBatch: () => Promise.reject(failure),
      refund: () => Promise.resolve(),
      reset: () => Promise.resolve(),
    }
    const { limiter, settle } = setup(broken)

    const outcomes = await settle(
      consumeMany(limiter, 'k', 3).map((p) =>
        p.then(
          () => 'resolved',
          (error: unknown) => error
        )
      )
    )

    expect(outcomes).toEqual([failure, failure, failure])
  })

  it('when one consume has a bad key or cost, only that one fails', async () => {
    const { limiter, settle } = setup(store(policyOf('fixed-window', 5), { now: 0 }))

    const [badKey, badCost, good] = await settle([
      limiter.consume('').catch((error: unknown) => error),
      limiter.consume('k', 6).catch((error: unknown) => error),
      limiter.consume('k'),
    ])

    expect(badKey).toBeInstanceOf(InvalidRequestError)
    expect(badCost).toBeInstanceOf(InvalidRequestError)
    expect(good).toMatchObject({ allowed: true, remaining: 4 })
  })

  it('when nothing calls the test flush, the default schedule still answers (setImmediate)', async () => {
    const limiter = createCoalescingLimiter(store(policyOf('fixed-window', 2), { now: 0 }))

    const decisions = await Promise.all(consumeMany(limiter, 'k', 3))

    expect(decisions.map((d) => d.allowed)).toEqual([true, true, false])
  })

  // The contract: coalesced decisions are the decisions the same consumes would get one by one
  // at the same instant, for every algorithm, through limits, refills and window edges.
  it.each(ALGORITHMS)(
    'when random bursts of several keys hit a %s limiter, every decision equals the one-by-one decision at that instant',
    async (algorithm) => {
      const tick = fc.record({
        advanceMs: fc.integer({ min: 0, max: 400 }),
        groups: fc.uniqueArray(
          fc.record({
            key: fc.constantFrom('a', 'b', 'c'),
            cost: fc.integer({ min: 1, max: 3 }),
            count: fc.integer({ min: 1, max: 12 }),
          }),
          { selector: (group) => group.key, maxLength: 3 }
        ),
      })
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 3, max: 20 }),
          fc.array(tick, { maxLength: 25 }),
          async (limit, ticks) => {
            const clock = { now: 1_000_000 }
            const policy = policyOf(algorithm, limit)
            const { limiter, settle } = setup(store(policy, clock))
            const oneByOne = store(policy, clock)
            for (const { advanceMs, groups } of ticks) {
              clock.now += advanceMs
              const coalesced = await settle(
                groups.flatMap(({ key, cost, count }) => consumeMany(limiter, key, count, cost))
              )
              const expected: Decision[] = []
              for (const { key, cost, count } of groups) {
                for (let i = 0; i < count; i++) expected.push(await oneByOne.consume(key, cost))
              }
              const comparable = (d: Decision) => [d.allowed, d.remaining, d.retryAfterMs]
              expect(coalesced.map(comparable)).toEqual(expected.map(comparable))
              // An admitted batch reports its last member's reset: never earlier than one by one.
              coalesced.forEach((d, i) =>
                expect(d.resetMs).toBeGreaterThanOrEqual((expected[i] as Decision).resetMs)
              )
            }
          }
        ),
        { numRuns: 60 }
      )
    }
  )
})
