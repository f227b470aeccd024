import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { JobTimeoutError } from './job-timeout.ts'
import { TimeoutWorker, type Processors } from './timeout-worker.ts'

// The deadline and cancellation themselves are tested for both forms in job-timeout.test.ts.
// The test run's redis-server (the kit's vitest global setup sets it; a copier sets it).
const REDIS_URL = process.env.REDIS_URL
if (!REDIS_URL) throw new Error('Set REDIS_URL to a Redis these tests may write to')
const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
afterAll(() => connection.quit())

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function start(processors: Processors, timeoutMs: number) {
  const name = `timeout-worker-${randomUUID()}`
  const queue = new Queue(name, { connection })
  const worker = new TimeoutWorker(name, processors, { connection, timeouts: { timeoutMs } })
  cleanups.push(async () => {
    await worker.close()
    await queue.obliterate({ force: true })
    await queue.close()
  })
  /**
   * Adds a job and resolves with it once it completed or failed for good (`finishedOn` is set
   * then, not on a failure that is retried). Read from Redis, not from QueueEvents: an event
   * written before QueueEvents' first read of the stream would be missed, and the wait with it.
   */
  const run = async (jobName: string, attempts = 1): Promise<Job> => {
    const { id } = await queue.add(jobName, {}, { attempts })
    for (;;) {
      const job = (await queue.getJob(id!))!
      if (job.finishedOn !== undefined) return job
      await sleep(20)
    }
  }
  return { worker, run }
}

describe('TimeoutWorker with a processor per job name', () => {
  it('gives a signal only to the processors that declare it, and runs each job by its name', async () => {
    const { run } = await start(
      {
        takesSignal: (_job, signal) => Promise.resolve(signal instanceof AbortSignal),
        // Rest parameters do not count in a function's length: this one declares no signal.
        noSignal: (...args: unknown[]) => Promise.resolve(args[1] === undefined),
      },
      5000
    )

    expect((await run('takesSignal')).returnvalue).toBe(true)
    expect((await run('noSignal')).returnvalue).toBe(true)
  })

  it('fails a job whose processor takes no signal at its deadline all the same', async () => {
    const { run } = await start({ deaf: () => sleep(2000, 'late') }, 100)

    const job = await run('deaf')

    expect(job.failedReason).toBe(new JobTimeoutError(100).message)
    expect(job.finishedOn! - job.processedOn!).toBeLessThan(1500)
  })

  it('fails a job with no processor for its name once, without retrying it', async () => {
    const { run } = await start({ known: () => Promise.resolve('ok') }, 1000)

    const job = await run('unknown', 3)

    expect(job.failedReason).toBe('no processor for jobs named unknown')
    expect(job.attemptsMade).toBe(1)
    expect(await job.getState()).toBe('failed')
  })
})
