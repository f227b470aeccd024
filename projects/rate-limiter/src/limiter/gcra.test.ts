import { describe, expect, it } from 'vitest'
import { emissionIntervalUs, gcra } from './gcra.ts'
import type { Policy } from './types.ts'

describe('gcra', () => {
  it("when replaying redis-cell's own test table (burst 5, 1 per second), gives the same replies", () => {
    // brandur/redis-cell src/cell/mod.rs `it_rate_limits` (max_burst 4 = capacity 5), times in ms.
    const policy: Policy = { name: 'cell', algorithm: 'gcra', limit: 1, windowMs: 1000, burst: 5 }
    const start = 1_700_000_000_000
    const state = gcra.create(policy, start)
    const table: [
      at: number,
      cost: number,
      remaining: number,
      resetAfter: number,
      retryAfter: number,
      limited: boolean,
    ][] = [
      [0, 1, 4, 1000, 0, false],
      [0, 1, 3, 2000, 0, false],
      [0, 1, 2, 3000, 0, false],
      [0, 1, 1, 4000, 0, false],
      [0, 1, 0, 5000, 0, false],
      [0, 1, 0, 5000, 1000, true],
      [3000, 1, 2, 3000, 0, false],
      [3100, 1, 1, 3900, 0, false],
      [4000, 1, 1, 4000, 0, false],
      [8000, 1, 4, 1000, 0, false],
      [9500, 1, 4, 1000, 0, false],
      [9500, 0, 4, 1000, 0, false],
      [9500, 2, 2, 3000, 0, false],
      [9500, 5, 2, 3000, 3000, true],
    ]

    const replies = table.map(([at, cost]) => {
      const d = gcra.consume(policy, state, start + at, cost)
      return [at, cost, d.remaining, d.resetMs, d.retryAfterMs, !d.allowed]
    })

    expect(replies).toEqual(table)
  })

  it('when the window does not divide into whole microseconds, rounds the emission interval up so the rate is never exceeded', () => {
    const interval = emissionIntervalUs(3, 1000)

    expect(interval).toBe(333_334)
    expect(interval * 3).toBeGreaterThanOrEqual(1000 * 1000)
  })

  it('when refunded, moves the arrival time back but never before now', () => {
    const policy: Policy = { name: 'p', algorithm: 'gcra', limit: 10, windowMs: 1000 }
    const state = gcra.create(policy, 0)
    gcra.consume(policy, state, 0, 3)

    gcra.refund(policy, state, 0, 2)
    const afterOne = gcra.consume(policy, state, 0, 0)
    gcra.refund(policy, state, 0, 100)
    const afterAll = gcra.consume(policy, state, 0, 0)

    expect(afterOne.remaining).toBe(9)
    expect(afterAll.remaining).toBe(10)
    expect(afterAll.resetMs).toBe(0)
  })
})
