import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  JobTimeoutError,
  withTimeout,
  type CancellableProcessor,
  type TimeoutOptions,
} from './job-timeout.ts'
import { TimeoutWorker } from './timeout-worker.ts'

// The test run's redis-server (the kit's vitest global setup sets it; a copier sets it).
const REDIS_URL = process.env.REDIS_URL
if (!REDIS_URL) throw new Error('Set REDIS_URL to a Redis these tests may write to')
const connection = new Redis(REDIS_URL, {
  maxRetriesPerRequest: null,
})
afterAll(() => connection.quit())

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

type CreateWorker = (
  name: string,
  processor: CancellableProcessor<Job, unknown>,
  options: TimeoutOptions<Job>
) => Worker

/** The two forms of a deadline: a wrapped processor, and the Worker that owns the deadline. */
const forms: [string, CreateWorker][] = [
  [
    'withTimeout() around a processor',
    (name, processor, options) => new Worker(name, withTimeout(processor, options), { connection }),
  ],
  [
    'TimeoutWorker',
    (name, processor, options) =>
      new TimeoutWorker(name, processor, { connection, timeouts: options }),
  ],
]

describe.each(forms)('%s', (_form, createWorker) => {
  /** A queue and a worker running `processor` with a deadline, on a fresh queue name. */
  function start(processor: CancellableProcessor<Job, unknown>, options: TimeoutOptions<Job>) {
    const name = `timeout-${randomUUID()}`
    const queue = new Queue(name, { connection })
    const worker = createWorker(name, processor, options)
    cleanups.push(async () => {
      await worker.close()
      await queue.obliterate({ force: true })
      await queue.close()
    })
    const failed = (attempts = 1) =>
      new Promise<{ job: Job; error: Error }>((resolve) =>
        worker.on('failed', (job, error) => {
          if (job && job.attemptsMade >= attempts) resolve({ job, error })
        })
      )
    const active = () => new Promise<Job>((resolve) => worker.once('active', resolve))
    return { queue, worker, failed, active }
  }

  it('when a processor that honours its signal runs past the deadline, the job fails and no step runs after it', async () => {
    const steps = `steps-${randomUUID()}`
    const { queue, failed } = start(
      async (_job, signal) => {
        for (let i = 0; i < 40; i++) {
          await sleep(25, undefined, { signal })
          await connection.rpush(steps, String(Date.now()))
        }
        return 'finished'
      },
      { timeoutMs: 200 }
    )

    const outcome = failed()
    await queue.add('slow', {})
    const { job, error } = await outcome
    const stepsAtFailure = await connection.llen(steps)
    // Ten steps' worth of time: a processor that kept going would have written several more.
    await sleep(250)

    expect(error).toBeInstanceOf(JobTimeoutError)
    expect(job.failedReason).toBe('job timed out after 200 ms')
    expect(stepsAtFailure).toBeLessThan(40)
    expect(await connection.llen(steps)).toBe(stepsAtFailure)
    await connection.del(steps)
  })

  it('when a processor ignores its signal, the job still fails at the deadline', async () => {
    const { queue, failed } = start(() => sleep(2000).then(() => 'late'), { timeoutMs: 150 })

    const outcome = failed()
    await queue.add('stubborn', {})
    const { job } = await outcome

    expect(job.failedReason).toBe('job timed out after 150 ms')
    expect(job.finishedOn! - job.processedOn!).toBeLessThan(1500)
  })

  it('when the deadline comes from the job data, each job gets its own', async () => {
    const { queue, failed } = start(() => sleep(400, 'done'), {
      timeoutMs: (job) => (job.data as { timeoutMs?: number }).timeoutMs,
    })
    const completed = new Promise<Job>((resolve) =>
      cleanupSafeOnce(queue.name, 'completed', resolve)
    )

    const outcome = failed()
    await queue.add('short', { timeoutMs: 100 })
    await queue.add('none', {})

    expect((await outcome).job.name).toBe('short')
    expect((await completed).name).toBe('none')
  })

  it('when a timeout is not retryable, the job fails after one attempt of three', async () => {
    const { queue, failed } = start(() => sleep(1000, 'late'), {
      timeoutMs: 100,
      retryOnTimeout: false,
    })

    const outcome = failed()
    await queue.add('once', {}, { attempts: 3 })
    const { job } = await outcome

    expect(job.attemptsMade).toBe(1)
    expect(await job.getState()).toBe('failed')
  })

  it('when a timeout is retryable, every attempt gets a fresh deadline', async () => {
    const { queue, failed } = start(() => sleep(1000, 'late'), { timeoutMs: 80 })

    const outcome = failed(3)
    await queue.add('thrice', {}, { attempts: 3 })
    const { job } = await outcome

    expect(job.attemptsMade).toBe(3)
  })

  it('when BullMQ cancels the running job, the processor is signalled and the job is not retried', async () => {
    let sawAbort = false
    const { queue, worker, failed, active } = start(
      async (_job, signal) => {
        signal.addEventListener('abort', () => (sawAbort = true))
        return sleep(5000, 'late', { signal })
      },
      { timeoutMs: 10_000 }
    )

    const running = active()
    const outcome = failed()
    await queue.add('cancel-me', {}, { attempts: 3 })
    const job = await running
    // 'active' is emitted just before BullMQ starts tracking the job's signal: retry briefly.
    for (let i = 0; i < 100 && !worker.cancelJob(job.id!, 'operator asked'); i++) await sleep(10)
    const { job: failedJob } = await outcome

    expect(sawAbort).toBe(true)
    expect(failedJob.failedReason).toBe('job cancelled: operator asked')
    expect(failedJob.attemptsMade).toBe(1)
  })

  it('when BullMQ cancels a processor that ignores its signal, the job fails at once', async () => {
    const { queue, worker, failed, active } = start(() => sleep(3000, 'late'), {
      timeoutMs: 10_000,
    })

    const running = active()
    const outcome = failed()
    await queue.add('deaf', {}, { attempts: 3 })
    const job = await running
    for (let i = 0; i < 100 && !worker.cancelJob(job.id!, 'operator asked'); i++) await sleep(10)
    const { job: failedJob } = await outcome

    expect(failedJob.failedReason).toBe('job cancelled: operator asked')
    expect(failedJob.finishedOn! - failedJob.processedOn!).toBeLessThan(2000)
  })

  it('when a processor throws before it returns a promise, the job fails and the next one runs', async () => {
    const { queue, failed } = start(
      (job) => {
        if (job.name === 'throws') throw new Error('thrown synchronously')
        return Promise.resolve('ok')
      },
      { timeoutMs: 1000 }
    )
    const completed = new Promise<Job>((resolve) =>
      cleanupSafeOnce(queue.name, 'completed', resolve)
    )

    const outcome = failed()
    await queue.add('throws', {})
    await queue.add('fine', {})

    expect((await outcome).job.failedReason).toBe('thrown synchronously')
    expect((await completed).name).toBe('fine')
  })
})

/** A second worker-less listener: QueueEvents would need its own connection; poll instead. */
function cleanupSafeOnce(queueName: string, _event: 'completed', resolve: (job: Job) => void) {
  const queue = new Queue(queueName, { connection })
  const timer = setInterval(() => {
    void queue.getCompleted(0, 0).then(async ([job]) => {
      if (!job) return
      clearInterval(timer)
      await queue.close()
      resolve(job)
    })
  }, 20)
  cleanups.push(async () => {
    clearInterval(timer)
    await queue.close()
  })
}
