import { fork, type ChildProcess } from 'node:child_process'
import { onceEvent, uniqueName } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ALGORITHMS } from '../src/limiter/index.ts'
import type { BurstRequest, BurstResult } from './limiter-burst-child.ts'

// 1,000 concurrent requests from two processes against one key with a
// limit of 100 admit exactly 100, window after window; a naive GET-then-SET limiter overshoots.
const prefix = `${uniqueName('limiter-r1')}:`
const PER_PROCESS = 500
let children: ChildProcess[] = []

beforeAll(async () => {
  children = [0, 1].map(() =>
    fork(new URL('./limiter-burst-child.ts', import.meta.url), {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, REDIS_URL: inject('redisUrl') },
    })
  )
  await Promise.all(children.map((child) => onceEvent(child, 'message', 15_000)))
})

afterAll(() => {
  for (const child of children) child.disconnect()
})

/** Both processes fire `PER_PROCESS` consumes at `fireAt`; resolves with their reports. */
async function burst(request: Omit<BurstRequest, 'count' | 'prefix'>): Promise<BurstResult[]> {
  const replies = children.map((child) => onceEvent(child, 'message', 15_000))
  for (const child of children) child.send({ ...request, prefix, count: PER_PROCESS })
  return (await Promise.all(replies)).map(([result]) => result as BurstResult)
}

function admitted(results: BurstResult[]): number {
  return results.reduce((sum, r) => sum + r.allowed, 0)
}

describe('Redis limiter atomicity', () => {
  it('when 2 processes x 500 concurrent consumes hit one fixed-window key (limit 100), admit exactly 100 in each of 5 consecutive 1 s windows', async () => {
    const windowMs = 1000
    const perWindow: number[] = []

    for (let round = 0; round < 5; round++) {
      const windowStart = (Math.floor(Date.now() / windowMs) + 1) * windowMs
      const results = await burst({
        algorithm: 'fixed-window',
        key: 'shared',
        limit: 100,
        windowMs,
        fireAt: windowStart + 100,
      })
      // Only meaningful if the whole burst landed inside that window.
      expect(Math.max(...results.map((r) => r.finishedAt))).toBeLessThan(windowStart + windowMs)
      perWindow.push(admitted(results))
    }

    expect(perWindow).toEqual([100, 100, 100, 100, 100])
  })

  it.each(['sliding-log', 'sliding-window', 'token-bucket', 'gcra'] as const)(
    'when 2 processes x 500 concurrent consumes hit one %s key (limit 100), admit exactly 100, twice',
    async (algorithm) => {
      const perRound: number[] = []

      for (let round = 0; round < 2; round++) {
        // A long window so that nothing refills during the burst: exactly the capacity passes.
        const results = await burst({
          algorithm,
          key: `${algorithm}-${round}`,
          limit: 100,
          windowMs: 600_000,
          fireAt: Date.now() + 50,
        })
        perRound.push(admitted(results))
      }

      expect(perRound).toEqual([100, 100])
    }
  )

  it.each(ALGORITHMS)(
    'when the 1,000 consumes go through the coalescing limiter on a %s key (limit 100), still admit exactly 100, in under a tenth of the script calls',
    async (algorithm) => {
      const windowMs = 600_000
      // Fixed windows are aligned to epoch multiples: never fire within 5 s of an edge.
      const soon = Date.now() + 50
      const edge = (Math.floor(soon / windowMs) + 1) * windowMs
      const results = await burst({
        algorithm,
        key: `coalesced-${algorithm}`,
        limit: 100,
        windowMs,
        fireAt: edge - soon < 5000 ? edge + 50 : soon,
        coalesce: true,
      })

      expect(admitted(results)).toBe(100)
      expect(results.reduce((sum, r) => sum + r.storeCalls, 0)).toBeLessThan(100)
    }
  )

  it('when the same load hits a naive GET-then-SET limiter, it admits more than 100 (the test can see races)', async () => {
    const results = await burst({
      algorithm: 'naive',
      key: 'naive',
      limit: 100,
      windowMs: 600_000,
      fireAt: Date.now() + 50,
    })
    const overshoot = admitted(results)

    console.info(`naive GET-then-SET fixture admitted ${overshoot} of 1000 with a limit of 100`)
    expect(overshoot).toBeGreaterThan(100)
  })
})
