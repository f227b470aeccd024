import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  classifyResponse,
  createRetrySchedule,
  parseRetryAfter,
  STANDARD_WEBHOOKS_SCHEDULE,
} from './retry-schedule.ts'

afterEach(() => {
  vi.useRealTimers()
})

describe('createRetrySchedule()', () => {
  it('when run on a fake clock against an endpoint that always fails, makes exactly 10 attempts at the spec offsets within the jitter', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 2, 1) })
    const start = Date.now()
    const schedule = createRetrySchedule(STANDARD_WEBHOOKS_SCHEDULE, { jitter: 0.1 })
    const attemptsAt: number[] = []

    // The retry loop a sender runs: attempt, fail, wait for the schedule, again until spent.
    let attempt = 1
    for (;;) {
      attemptsAt.push(Date.now() - start)
      const delay = schedule.delayBefore(++attempt)
      if (delay === null) break
      await vi.advanceTimersByTimeAsync(delay)
    }

    expect(attemptsAt).toHaveLength(10)
    const spec = [0, 5, 305, 2105, 9305, 27305, 63305, 113705, 185705, 272105].map((s) => s * 1000)
    let previous = 0
    attemptsAt.forEach((at, i) => {
      const gap = spec[i]! - (spec[i - 1] ?? 0)
      expect(at - previous).toBeGreaterThanOrEqual(Math.floor(gap * 0.9))
      expect(at - previous).toBeLessThanOrEqual(Math.ceil(gap * 1.1))
      previous = at
    })
    // 75:35:05 in the spec's table, give or take the jitter.
    expect(attemptsAt.at(-1)! / 1000).toBeCloseTo(272_105, -5)
  })

  it('when random is at its extremes, the delay stays within ±jitter of the table', () => {
    const low = createRetrySchedule([10_000], { jitter: 0.2, random: () => 0 })
    const high = createRetrySchedule([10_000], { jitter: 0.2, random: () => 0.999999 })

    expect(low.delayBefore(2)).toBe(8000)
    expect(high.delayBefore(2)).toBe(12_000)
    expect(low.delayBefore(3)).toBeNull()
  })

  it('when the receiver asked for a longer Retry-After, waits that long', () => {
    const schedule = createRetrySchedule([5000], { jitter: 0 })

    expect(schedule.delayBefore(2, { retryAfterMs: 7000 })).toBe(7000)
    expect(schedule.delayBefore(2, { retryAfterMs: 1000 })).toBe(5000)
  })

  it('when a table has a negative delay or the jitter is 1, refuses it', () => {
    expect(() => createRetrySchedule([-1])).toThrow(RangeError)
    expect(() => createRetrySchedule([1], { jitter: 1 })).toThrow(RangeError)
  })
})

describe('parseRetryAfter()', () => {
  it('when given seconds or an HTTP-date, answers milliseconds from the fake clock', () => {
    vi.useFakeTimers({ now: Date.parse('Wed, 21 Oct 2026 07:27:00 GMT') })

    expect(parseRetryAfter('7')).toBe(7000)
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT')).toBe(60_000)
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:00:00 GMT')).toBe(0)
    expect(parseRetryAfter('soon')).toBeUndefined()
    expect(parseRetryAfter(null)).toBeUndefined()
  })
})

describe('classifyResponse()', () => {
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [301, 'retry'],
    [302, 'retry'],
    [307, 'retry'],
    [400, 'retry'],
    [410, 'disable'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
  ])('when the status is %i, the outcome is %s', (status, kind) => {
    expect(classifyResponse(status, new Headers()).kind).toBe(kind)
  })

  it('when a 3xx answers, names it a redirect failure', () => {
    expect(classifyResponse(302, new Headers({ location: 'http://x' }))).toEqual({
      kind: 'retry',
      reason: 'redirect_302',
    })
  })

  it('when a 503 carries Retry-After, passes it on', () => {
    expect(classifyResponse(503, new Headers({ 'retry-after': '7' }))).toEqual({
      kind: 'retry',
      reason: 'http_503',
      retryAfterMs: 7000,
    })
  })

  it('when the receiver answers webhook-delivery: abort-message, aborts', () => {
    expect(classifyResponse(400, new Headers({ 'webhook-delivery': 'abort-message' })).kind).toBe(
      'abort'
    )
  })
})
