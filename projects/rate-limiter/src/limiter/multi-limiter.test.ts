import { describe, expect, it } from 'vitest'
import { InvalidRequestError, StoreUnavailableError } from './errors.ts'
import { createMemoryLimiter } from './memory-limiter.ts'
import { createMultiLimiter, mostRestrictive } from './multi-limiter.ts'
import type { Decision, Limiter, Policy } from './types.ts'

function pair() {
  const clock = { now: 1_700_000_000_000 }
  const perSecond = createMemoryLimiter(
    { name: 'second', algorithm: 'fixed-window', limit: 2, windowMs: 1000 },
    { clock: () => clock.now, sweepIntervalMs: 0 }
  )
  const perMinute = createMemoryLimiter(
    { name: 'minute', algorithm: 'sliding-log', limit: 3, windowMs: 60_000 },
    { clock: () => clock.now, sweepIntervalMs: 0 }
  )
  return { clock, perSecond, perMinute, multi: createMultiLimiter([perSecond, perMinute]) }
}

describe('createMultiLimiter', () => {
  it('when every limit allows, allows and reports the one with the least remaining', async () => {
    const { multi } = pair()

    const first = await multi.consume('k')
    const second = await multi.consume('k')

    expect(first.allowed).toBe(true)
    expect(first.mostRestrictive.policy.name).toBe('second')
    expect(second.mostRestrictive.remaining).toBe(0)
  })

  it('when one limit denies, denies, reports it, and the others keep their units', async () => {
    const { clock, multi, perMinute } = pair()
    await multi.consume('k')
    await multi.consume('k')

    const denied = await multi.consume('k')
    const minute = await perMinute.consume('k', 0)
    clock.now += 1000
    const nextSecond = await multi.consume('k')

    expect(denied.allowed).toBe(false)
    expect(denied.mostRestrictive.policy.name).toBe('second')
    expect(minute.remaining).toBe(1)
    expect(nextSecond.allowed).toBe(true)
    expect(nextSecond.mostRestrictive.policy.name).toBe('minute')
  })

  it('when one limiter fails, throws its error and refunds the units the others took', async () => {
    const { perMinute } = pair()
    const broken: Limiter = {
      policy: { name: 'broken', algorithm: 'gcra', limit: 1, windowMs: 1 },
      consume: () => Promise.reject(new StoreUnavailableError('down')),
      refund: () => Promise.resolve(),
      reset: () => Promise.resolve(),
    }
    const multi = createMultiLimiter([perMinute, broken])

    const attempt = multi.consume('k')

    await expect(attempt).rejects.toBeInstanceOf(StoreUnavailableError)
    expect((await perMinute.consume('k', 0)).remaining).toBe(3)
  })

  it('when given one key per limiter, checks each limiter with its own key', async () => {
    const { multi, perSecond, perMinute } = pair()

    await multi.consume(['ip:1', 'user:7'])

    expect((await perSecond.consume('ip:1', 0)).remaining).toBe(1)
    expect((await perMinute.consume('user:7', 0)).remaining).toBe(2)
    await expect(multi.consume(['only-one'])).rejects.toBeInstanceOf(InvalidRequestError)
  })
})

describe('mostRestrictive', () => {
  const policy: Policy = { name: 'p', algorithm: 'fixed-window', limit: 10, windowMs: 1000 }
  const d = (allowed: boolean, remaining: number, retryAfterMs: number, resetMs = 0): Decision => ({
    allowed,
    policy,
    remaining,
    resetMs,
    retryAfterMs,
  })

  it('when several deny, picks the longest wait; when all allow, the least remaining then the later reset', () => {
    const denials = [d(true, 0, 0), d(false, 0, 300), d(false, 0, 900), d(false, 0, 100)]
    const allows = [d(true, 5, 0, 100), d(true, 2, 0, 100), d(true, 2, 0, 700)]

    expect(mostRestrictive(denials)).toBe(denials[2])
    expect(mostRestrictive(allows)).toBe(allows[2])
  })
})
