import { fork, spawn, type ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { onceEvent, uniqueName } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../src/config.ts'
import { ALGORITHMS, type Algorithm } from '../src/limiter/index.ts'
import type { BusyBurstRequest, BusyBurstResult } from './busy-burst-child.ts'

// Two service instances on one healthy Redis, every core busy with a CPU burner, each instance's
// event loop blocked for longer than a Redis round trip right after it fires: a busy process must
// never change a decision while Redis answers, so every window admits exactly the limit.
const LIMIT = 100
const WINDOW_MS = 2000
const PER_PROCESS = 500
const WINDOWS = 10
// Longer than the service's default REDIS_TIMEOUT_MS: a deadline measured on this loop expires.
const BUSY_MS = loadConfig({}).REDIS_TIMEOUT_MS + 200

let instances: ChildProcess[] = []
let burners: ChildProcess[] = []

beforeAll(async () => {
  const env = {
    ...process.env,
    REDIS_URL: inject('redisUrl'),
    KEY_PREFIX: `${uniqueName('under-load')}:`,
    LOG_LEVEL: 'silent',
    // The service's defaults otherwise: insurance, coalescing, the block cache, its timeout.
    POLICIES: JSON.stringify({ routes: { algorithms: { limit: LIMIT, windowMs: WINDOW_MS } } }),
  }
  instances = [0, 1].map(() =>
    fork(new URL('./busy-burst-child.ts', import.meta.url), { execArgv: ['--import', 'tsx'], env })
  )
  await Promise.all(instances.map((child) => onceEvent(child, 'message', 20_000)))
  burners = Array.from({ length: availableParallelism() }, () =>
    spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' })
  )
}, 30_000)

afterAll(() => {
  for (const burner of burners) burner.kill('SIGKILL')
  for (const child of instances) child.disconnect()
})

async function burst(request: BusyBurstRequest): Promise<BusyBurstResult[]> {
  const replies = instances.map((child) => onceEvent(child, 'message', 20_000))
  for (const child of instances) child.send(request)
  return (await Promise.all(replies)).map(([result]) => result as BusyBurstResult)
}

describe('Redis limiting with busy processes (two instances, a CPU burner per core)', () => {
  it(
    'when 2 x 500 concurrent requests per algorithm arrive in each of 10 windows, every window admits exactly the limit (token bucket and GCRA: plus the refill of the burst)',
    async () => {
      const admitted: Record<string, number[]> = {}
      const allowedAtMost: Record<string, number[]> = {}
      const sources: Record<string, number> = {}

      for (let window = 0; window < WINDOWS; window++) {
        const windowStart = (Math.floor(Date.now() / WINDOW_MS) + 1) * WINDOW_MS
        // Fixed windows keep one key across aligned windows; the others get a fresh key per
        // window, since their state rightly carries over into the next one.
        const keys = Object.fromEntries(
          ALGORITHMS.map((algorithm) => [
            algorithm,
            algorithm === 'fixed-window' ? algorithm : `${algorithm}-${window}`,
          ])
        )
        const results = await burst({
          keys,
          count: PER_PROCESS,
          fireAt: windowStart + 100,
          busyMs: BUSY_MS,
        })
        const startedAt = Math.min(...results.map((r) => r.startedAt))
        const finishedAt = Math.max(...results.map((r) => r.finishedAt))
        // Only meaningful if the whole burst landed inside its fixed window.
        expect(finishedAt).toBeLessThan(windowStart + WINDOW_MS)
        for (const result of results) {
          for (const [source, n] of Object.entries(result.sources)) {
            sources[source] = (sources[source] ?? 0) + n
          }
        }
        for (const algorithm of ALGORITHMS) {
          const total = results.reduce((sum, r) => sum + (r.allowed[algorithm] ?? 0), 0)
          ;(admitted[algorithm] ??= []).push(total)
          ;(allowedAtMost[algorithm] ??= []).push(
            LIMIT + refillDuring(algorithm, finishedAt - startedAt)
          )
        }
      }

      for (const algorithm of ['fixed-window', 'sliding-log', 'sliding-window'] as const) {
        expect({ algorithm, admitted: admitted[algorithm] }).toEqual({
          algorithm,
          admitted: Array(WINDOWS).fill(LIMIT),
        })
      }
      for (const algorithm of ['token-bucket', 'gcra'] as const) {
        const perWindow = admitted[algorithm]!.map((n, i) => ({
          n,
          atLeast: LIMIT,
          atMost: allowedAtMost[algorithm]![i]!,
        }))
        expect({
          algorithm,
          outside: perWindow.filter((w) => w.n < w.atLeast || w.n > w.atMost),
        }).toEqual({ algorithm, outside: [] })
      }
      // No decision was left to the outage policy: Redis answered every one.
      expect(sources).toEqual({ store: WINDOWS * ALGORITHMS.length * 2 * PER_PROCESS })
    },
    WINDOWS * WINDOW_MS + 30_000
  )
})

/**
 * Units that refill while a burst of `durationMs` is decided: none for the window algorithms; for
 * token bucket and GCRA, `limit` per window, rounded up (Redis' clock, in microseconds, may see a
 * little more than the processes' milliseconds).
 */
function refillDuring(algorithm: Algorithm, durationMs: number): number {
  if (algorithm !== 'token-bucket' && algorithm !== 'gcra') return 0
  return Math.ceil(((durationMs + 1) * LIMIT) / WINDOW_MS)
}
