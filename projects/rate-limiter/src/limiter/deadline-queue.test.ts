import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createDeadlineQueue } from './deadline-queue.ts'

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('createDeadlineQueue', () => {
  it('when a call is not settled within timeoutMs, expires it once, at the deadline', () => {
    const deadlines = createDeadlineQueue(100)
    const expire = vi.fn()
    deadlines.track(expire)

    vi.advanceTimersByTime(99)
    const early = expire.mock.calls.length
    vi.advanceTimersByTime(1)

    expect(early).toBe(0)
    expect(expire).toHaveBeenCalledTimes(1)
    expect(deadlines.pending).toBe(0)
  })

  it('when calls settle in time, in any order, none expires and a late settle is refused', () => {
    const deadlines = createDeadlineQueue(100)
    const expire = vi.fn()
    const calls = Array.from({ length: 5 }, () => deadlines.track(expire))
    const late = deadlines.track(expire)

    const settled = [3, 0, 4, 1, 2].map((i) => deadlines.settle(calls[i]!))
    vi.advanceTimersByTime(100)

    expect(settled).toEqual([true, true, true, true, true])
    expect(expire).toHaveBeenCalledTimes(1)
    expect(deadlines.settle(late)).toBe(false)
    expect(deadlines.pending).toBe(0)
  })

  it('when calls start at different times, expires each at its own deadline with one timer at a time', () => {
    const deadlines = createDeadlineQueue(100)
    const expired: string[] = []
    deadlines.track(() => expired.push('first'))
    vi.advanceTimersByTime(60)
    deadlines.track(() => expired.push('second'))

    vi.advanceTimersByTime(40)
    const atFirstDeadline = [...expired]
    const timers = vi.getTimerCount()
    vi.advanceTimersByTime(60)

    expect(atFirstDeadline).toEqual(['first'])
    expect(timers).toBe(1)
    expect(expired).toEqual(['first', 'second'])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('when every open call is expired at once, expires each once, in start order, and arms no timer', () => {
    const deadlines = createDeadlineQueue(100)
    const expired: number[] = []
    const calls = [0, 1, 2].map((n) => deadlines.track(() => expired.push(n)))
    deadlines.settle(calls[1]!)

    deadlines.expireAll()
    vi.advanceTimersByTime(200)

    expect(expired).toEqual([0, 2])
    expect(deadlines.pending).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })
})
