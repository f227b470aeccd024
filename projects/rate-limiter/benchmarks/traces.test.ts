import { describe, expect, it } from 'vitest'
import type { Policy } from '../src/limiter/index.ts'
import { accuracyTraces, countPerBucket, EDGE, maxInAnyWindow, replay, steady } from './traces.ts'

const policy: Policy = { name: 'trace', algorithm: 'fixed-window', limit: 100, windowMs: 1000 }

describe('maxInAnyWindow', () => {
  it('when two groups sit less than a window apart, counts them together', () => {
    const times = [0, 0, 10, 999, 1000, 1500]

    expect(maxInAnyWindow(times, 1000)).toBe(4)
  })

  it('when nothing was admitted, gives 0', () => {
    expect(maxInAnyWindow([], 1000)).toBe(0)
  })
})

describe('countPerBucket', () => {
  it('when given times across buckets, counts each slice and ignores the outside', () => {
    const counts = countPerBucket([99, 100, 150, 299, 300, -1], 0, 300, 100)

    expect(counts).toEqual([1, 2, 1])
  })
})

describe('steady', () => {
  it('when asked for 300/s over 1 s, spaces 300 whole-ms arrivals over the second', () => {
    const trace = steady(EDGE, 1000, 300)

    expect(trace).toHaveLength(300)
    expect(trace[0]).toBe(EDGE)
    expect(trace.at(-1)).toBeLessThan(EDGE + 1000)
    expect(trace.every((t) => Number.isInteger(t))).toBe(true)
  })
})

describe('accuracyTraces + replay', () => {
  it('when the fixed window meets the edge trace, admits 2x the limit within one window', async () => {
    const { edge } = accuracyTraces(policy)

    const admitted = await replay(policy, edge as number[])

    expect(maxInAnyWindow(admitted, policy.windowMs) / policy.limit).toBe(2)
  })

  it('when the sliding log meets every trace, never admits more than the limit in a window', async () => {
    const exact: Policy = { ...policy, algorithm: 'sliding-log' }

    for (const trace of Object.values(accuracyTraces(exact))) {
      const admitted = await replay(exact, trace)

      expect(maxInAnyWindow(admitted, exact.windowMs)).toBeLessThanOrEqual(exact.limit)
    }
  })
})
