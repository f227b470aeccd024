import { randomUUID } from 'node:crypto'
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { backoffDelay, createBackoffStrategy, type BackoffOptions } from './backoff-strategies.ts'

// The test run's redis-server (the kit's vitest global setup sets it; a copier sets it).
const REDIS_URL = process.env.REDIS_URL
if (!REDIS_URL) throw new Error('Set REDIS_URL to a Redis these tests may write to')
const connection = new Redis(REDIS_URL, {
  maxRetriesPerRequest: null,
})
afterAll(() => connection.quit())

describe('backoffDelay()', () => {
  it('when fixed, answers the same delay for every retry', () => {
    expect([1, 2, 5].map((n) => backoffDelay('fixed', n, { delay: 250 }))).toEqual([250, 250, 250])
  })

  it('when exponential, doubles from the base delay', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay('exponential', n, { delay: 100 }))).toEqual([
      100, 200, 400, 800,
    ])
  })

  it('when exponential after very many attempts, stays a finite number', () => {
    expect(Number.isFinite(backoffDelay('exponential', 5000, { delay: 1 }))).toBe(true)
  })

  it('when full-jitter, draws within [0, the exponential delay] and honours the cap', () => {
    const low = backoffDelay('full-jitter', 3, { delay: 100 }, () => 0)
    const high = backoffDelay('full-jitter', 3, { delay: 100 }, () => 0.999_999)
    const capped = backoffDelay('full-jitter', 30, { delay: 100, maxDelay: 5000 }, () => 0.999_999)

    expect(low).toBe(0)
    expect(high).toBe(399)
    expect(capped).toBe(4999)
  })

  it('when table-driven, answers the delay of each retry and repeats the last', () => {
    const delays = [5, 60, 300]

    expect([1, 2, 3, 4, 9].map((n) => backoffDelay('table', n, { delays }))).toEqual([
      5, 60, 300, 300, 300,
    ])
  })

  it('when the name is unknown, answers undefined', () => {
    expect(backoffDelay('linear', 1)).toBeUndefined()
  })
})

describe('createBackoffStrategy()', () => {
  const strategy = createBackoffStrategy({ random: () => 0.5 })
  const job = (backoff: BackoffOptions & { type: string }) => ({ opts: { backoff } }) as Job

  it('when a job names full-jitter, computes its delay from the job options', () => {
    expect(strategy(2, 'full-jitter', undefined, job({ type: 'full-jitter', delay: 1000 }))).toBe(
      1000
    )
  })

  it('when a job names an unknown schedule, answers -1 so that BullMQ does not retry', () => {
    expect(strategy(1, 'linear', undefined, job({ type: 'linear', delay: 1 }))).toBe(-1)
  })
})

/** Runs a job that always fails, recording when each attempt started. */
async function attemptTimes(
  backoff: BackoffOptions & { type: string },
  attempts: number
): Promise<number[]> {
  const name = `backoff-${randomUUID()}`
  const queue = new Queue(name, { connection })
  const started: number[] = []
  const worker = new Worker(
    name,
    (job) => {
      started.push(Date.now())
      if (job.attemptsMade + 1 < attempts) throw new Error('transient')
      throw new UnrecoverableError('the last attempt')
    },
    { connection, settings: { backoffStrategy: createBackoffStrategy() } }
  )
  try {
    const failed = new Promise<void>((resolve) =>
      worker.on('failed', (job) => {
        if (job && job.attemptsMade >= attempts) resolve()
      })
    )
    await queue.add('flaky', {}, { attempts, backoff: backoff as never })
    await failed
    return started
  } finally {
    await worker.close()
    await queue.obliterate({ force: true })
    await queue.close()
  }
}

describe('retry schedule on a real worker', () => {
  it('when a job fails on a table schedule, each retry starts no sooner than its delay', async () => {
    const delays = [200, 400, 600]

    const started = await attemptTimes({ type: 'table', delays }, 4)

    const gaps = started.slice(1).map((time, i) => time - started[i]!)
    expect(gaps).toHaveLength(3)
    // Lower bounds only: on a busy machine a retry may start late, never early. The third gap
    // at least 600 ms shows the table was followed, not a fixed interval.
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(delays[i]! - 5))
  })

  it('when a job fails on the built-in exponential schedule, BullMQ waits the same delays this module computes', async () => {
    const started = await attemptTimes({ type: 'exponential', delay: 150 }, 3)

    const gaps = started.slice(1).map((time, i) => time - started[i]!)
    expect(gaps[0]).toBeGreaterThanOrEqual(backoffDelay('exponential', 1, { delay: 150 })! - 5)
    expect(gaps[1]).toBeGreaterThanOrEqual(backoffDelay('exponential', 2, { delay: 150 })! - 5)
  })
})
