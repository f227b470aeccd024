import { fork, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { onceEvent, uniqueName } from '@kit/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { SkewBurstRequest, SkewBurstResult, SkewReady } from './clock-skew-child.ts'

// The Redis limiter takes its window from Redis TIME, so app servers
// whose clocks disagree still share one window. Two limiter processes run under libfaketime, one
// 30 s behind and one 30 s ahead, and burst at one key together. A limiter that used the app
// clock would put them in windows 60 s apart, each resetting the other's count (tried with an
// app-clock fixed window: 258-300 of 300 admitted per window instead of 100).
//
// libfaketime 0.9.10 with Node 20: `faketime -f ±30s node --import tsx ...` starts, runs timers
// and keeps the IPC channel (fork through the wrapper) without hanging, with or without
// FAKETIME_DONT_FAKE_MONOTONIC=1. It is set anyway so that only the wall clock (Date.now) moves:
// a relative offset otherwise shifts CLOCK_MONOTONIC too, which libuv's timers run on.
//
// The memory backend's half (a request 1 ms before a window edge counts in the old window,
// one on/after it in the new one) is already covered on an injected clock by
// src/limiter/algorithms.test.ts ('when a client spends its limit just before and just after a
// window edge...' and the fixed-window property test over aligned windows).

const SKEWS_S = [-30, +30] as const
const PER_PROCESS = 150
const WINDOW_MS = 1000
/** Fire this long after a window starts, so a burst never straddles two windows. */
const FIRE_OFFSET_MS = 100

const prefix = `${uniqueName('limiter-r3')}:`
let redis: Redis
let children: ChildProcess[] = []
let readyClocks: { child: number; parent: number }[] = []

/** The faketime binary on PATH; throws (failing the file, never skipping it) when missing. */
function findFaketime(): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, 'faketime')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  throw new Error(
    'The clock-skew test needs libfaketime: `apt-get install -y faketime` (.ci/run installs it)'
  )
}

/** Redis' clock in epoch ms: the clock every window edge is taken from. */
async function redisNow(): Promise<number> {
  const [seconds, micros] = await redis.time()
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
}

beforeAll(async () => {
  const faketime = findFaketime()
  redis = new Redis(inject('redisUrl'))
  children = SKEWS_S.map((skew) =>
    // Same runner as the other child-process tests (node --import tsx), behind the wrapper.
    fork(new URL('./clock-skew-child.ts', import.meta.url), {
      execPath: faketime,
      execArgv: ['-f', `${skew > 0 ? '+' : ''}${skew}s`, process.execPath, '--import', 'tsx'],
      env: { ...process.env, REDIS_URL: inject('redisUrl'), FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    })
  )
  // Each child's clock next to ours at the moment its report arrives (our clock is Redis').
  readyClocks = await Promise.all(
    children.map(async (child) => {
      const [message] = await onceEvent(child, 'message', 15_000)
      return { child: (message as SkewReady).now, parent: Date.now() }
    })
  )
})

afterAll(async () => {
  for (const child of children) if (child.connected) child.disconnect()
  await redis?.quit()
})

type BurstSpec = Omit<SkewBurstRequest, 'count' | 'prefix' | 'delayMs'>

/** Both processes fire `PER_PROCESS` consumes at `fireAt` (Redis' clock, ms); resolves with
 * their reports. */
async function burstAt(fireAt: number, spec: BurstSpec): Promise<SkewBurstResult[]> {
  const replies = children.map((child) => onceEvent(child, 'message', 15_000))
  const delayMs = Math.max(0, fireAt - (await redisNow()))
  for (const child of children) {
    child.send({ ...spec, prefix, count: PER_PROCESS, delayMs } satisfies SkewBurstRequest)
  }
  return (await Promise.all(replies)).map(([result]) => result as SkewBurstResult)
}

/** Fires one burst in each listed window (indices on Redis' clock). Returns what both processes
 * admitted together in each, and how far apart their clocks read at each burst. */
async function burstInWindows(
  windows: readonly number[],
  spec: BurstSpec
): Promise<{ admitted: number[]; clocksApartMs: number[] }> {
  const admitted: number[] = []
  const clocksApartMs: number[] = []
  for (const window of windows) {
    const start = window * spec.windowMs
    const [behind, ahead] = (await burstAt(start + FIRE_OFFSET_MS, spec)) as [
      SkewBurstResult,
      SkewBurstResult,
    ]
    // Only meaningful if the whole burst was decided inside that window (Redis' clock).
    expect(await redisNow()).toBeLessThan(start + spec.windowMs)
    admitted.push(behind.allowed + ahead.allowed)
    clocksApartMs.push(ahead.now - behind.now)
  }
  console.info(
    `${spec.algorithm}: admitted ${admitted.join(', ')} per window; ` +
      `clocks ${clocksApartMs.join(', ')} ms apart`
  )
  return { admitted, clocksApartMs }
}

describe('Redis limiter under skewed app clocks', () => {
  it('when the two limiter processes start under faketime -30 s and +30 s, their clocks really are ~60 s apart', () => {
    const [behind, ahead] = readyClocks.map(({ child, parent }) => child - parent) as [
      number,
      number,
    ]
    console.info(`child clock offsets vs the test process: ${behind} ms and ${ahead} ms`)

    // A few hundred ms of slack: the offset is read across an IPC hop.
    expect(Math.abs(behind - -30_000)).toBeLessThan(500)
    expect(Math.abs(ahead - 30_000)).toBeLessThan(500)
  })

  // The sliding window counter bursts every other window: right after a full window it is
  // weighted by it (admitting ~10, by design), while after an empty one it is exact.
  it.each([
    { algorithm: 'fixed-window', windowSteps: [0, 1, 2, 3] },
    { algorithm: 'sliding-window', windowSteps: [0, 2, 4] },
  ] as const)(
    'when two instances run 60 s apart (-30 s / +30 s) on $algorithm, admits exactly the limit in each burst window',
    async ({ algorithm, windowSteps }) => {
      const first = Math.floor((await redisNow()) / WINDOW_MS) + 1

      const { admitted, clocksApartMs } = await burstInWindows(
        windowSteps.map((step) => first + step),
        { algorithm, key: algorithm, limit: 100, windowMs: WINDOW_MS }
      )

      // Both bursts fire within a few ms of each other in real time: ~60 s apart by their clocks.
      for (const ms of clocksApartMs) expect(Math.abs(ms - 60_000)).toBeLessThan(500)
      expect(admitted).toEqual(windowSteps.map(() => 100))
    }
  )
})
