import { randomUUID } from 'node:crypto'
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  attachDeadLetter,
  createDeadLetterQueue,
  deadIdOf,
  replayIdOf,
  type DeadLetter,
  type DeadLetterQueue,
} from './dead-letter-queue.ts'

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

function setup(options: Partial<Parameters<typeof createDeadLetterQueue>[0]> = {}) {
  const source = new Queue(`dlq-${randomUUID()}`, { connection })
  const dlq = createDeadLetterQueue({ source, connection, ...options })
  cleanups.push(async () => {
    await dlq.queue.obliterate({ force: true })
    await dlq.close()
    await source.obliterate({ force: true })
    await source.close()
  })
  return { source, dlq }
}

/** A worker whose jobs fail `failures` times (or always), with the DLQ attached. */
function failingWorker(source: Queue, dlq: DeadLetterQueue, failures = Infinity) {
  const worker = new Worker(
    source.name,
    (job) => {
      if (job.attemptsMade < failures) throw new Error(`boom ${job.attemptsMade + 1}`)
      return Promise.resolve('ok')
    },
    { connection }
  )
  const stop = attachDeadLetter(worker, dlq, { sweepIntervalMs: 60_000 })
  cleanups.push(async () => {
    stop()
    await worker.close()
  })
  return worker
}

async function dead(dlq: DeadLetterQueue, jobId: string): Promise<Job<DeadLetter>> {
  for (let i = 0; i < 250; i++) {
    const job = await dlq.get(jobId)
    if (job) return job
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`${jobId} never reached the dead-letter queue`)
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('dead-letter queue', () => {
  it('when a job exhausts its retries, it moves to the dead queue with its data, reason and attempts', async () => {
    const { source, dlq } = setup()
    failingWorker(source, dlq)

    const job = await source.add('charge', { amount: 5 }, { attempts: 3 })
    const entry = await dead(dlq, job.id!)

    expect(entry.name).toBe('charge')
    expect(entry.data).toMatchObject({
      data: { amount: 5 },
      queue: source.name,
      failedReason: 'boom 3',
      attemptsMade: 3,
    })
    expect(entry.data.opts.attempts).toBe(3)
    expect(await source.getJob(job.id!)).toBeUndefined()
    expect(await dlq.count()).toBe(1)
  })

  it('when a job throws UnrecoverableError, it dies after one attempt', async () => {
    const { source, dlq } = setup()
    const worker = new Worker(
      source.name,
      () => {
        throw new UnrecoverableError('card declined')
      },
      { connection }
    )
    const stop = attachDeadLetter(worker, dlq)
    cleanups.push(async () => {
      stop()
      await worker.close()
    })

    const job = await source.add('charge', {}, { attempts: 5 })
    const entry = await dead(dlq, job.id!)

    expect(entry.data.attemptsMade).toBe(1)
    expect(entry.data.failedReason).toBe('card declined')
  })

  it('when a failure will be retried, the job does not move', async () => {
    const { source, dlq } = setup()
    const worker = failingWorker(source, dlq, 1)
    const completed = new Promise<Job>((resolve) => worker.once('completed', resolve))

    const job = await source.add('flaky', {}, { attempts: 2 })
    await completed

    expect(await dlq.get(job.id!)).toBeUndefined()
    expect(await job.getState()).toBe('completed')
  })

  it('when a move was interrupted (the job is still in failed), the sweep finishes it once', async () => {
    const { source, dlq } = setup()
    const worker = new Worker(
      source.name,
      () => {
        throw new Error('no dead-letter hook on this worker')
      },
      { connection }
    )
    cleanups.push(() => worker.close())
    const failed = new Promise((resolve) => worker.once('failed', resolve))
    const job = await source.add('orphan', { n: 1 })
    await failed
    // The crash between "added to the dead queue" and "removed from failed": both exist.
    await dlq.queue.add('orphan', { data: { n: 1 } } as never, { jobId: deadIdOf(job.id!) })

    const moved = await dlq.sweep()

    expect(moved).toBe(1)
    expect(await dlq.count()).toBe(1)
    expect(await source.getJobCountByTypes('failed')).toBe(0)
  })

  it('when a dead job is replayed, it runs again under a new id and leaves the dead queue', async () => {
    const { source, dlq } = setup()
    failingWorker(source, dlq)
    const job = await source.add('retry-me', { n: 7 }, { attempts: 2, priority: 3 })
    await dead(dlq, job.id!)
    await dlq.queue.pause()

    const result = await dlq.replay(job.id!)

    expect(result).toEqual({ status: 'replayed', jobId: `${job.id!}-r1` })
    const replayed = await source.getJob(`${job.id!}-r1`)
    expect(replayed?.data).toEqual({ n: 7 })
    expect(replayed?.opts).toMatchObject({ attempts: 2, priority: 3 })
    expect(await dlq.get(job.id!)).toBeUndefined()
  })

  it('when one entry is replayed twice, even at once, one job is added', async () => {
    const { source, dlq } = setup()
    const worker = failingWorker(source, dlq)
    const job = await source.add('twice', {}, { attempts: 1 })
    await dead(dlq, job.id!)
    await worker.close()

    const results = await Promise.all([dlq.replay(job.id!), dlq.replay(job.id!)])
    const later = await dlq.replay(job.id!)

    const replayId = replayIdOf(job.id!)
    expect(results).toEqual([
      { status: 'replayed', jobId: replayId },
      { status: 'replayed', jobId: replayId },
    ])
    expect(later).toEqual({ status: 'already-replayed', jobId: replayId })
    expect((await source.getJobs(['wait'])).map((j) => j.id)).toEqual([replayId])
  })

  it('when purged, one entry or every entry is removed', async () => {
    const { dlq } = setup()
    for (const id of ['a', 'b', 'c']) {
      await dlq.queue.add('x', {} as never, { jobId: deadIdOf(`p-${id}`) })
    }

    expect(await dlq.purge('p-a')).toBe(1)
    expect(await dlq.purge('p-a')).toBe(0)
    expect(await dlq.purge()).toBe(2)
    expect(await dlq.count()).toBe(0)
  })

  it('when the retention policy is applied, old entries and those past the cap are removed, newest kept', async () => {
    const { dlq } = setup({ retention: { maxAgeMs: 60_000, maxCount: 3 } })
    await dlq.queue.add('old', {} as never, { jobId: 'old', timestamp: Date.now() - 120_000 })
    for (let i = 1; i <= 5; i++) await dlq.queue.add('new', {} as never, { jobId: `n${i}` })

    const removed = await dlq.trim()

    expect(removed).toBe(3)
    const kept = (await dlq.list(0, -1)).map((job) => job.id)
    expect(kept).toEqual(['n5', 'n4', 'n3'])
  })

  it('when a job must not die (shouldDeadLetter false), it stays in failed', async () => {
    const { source, dlq } = setup({
      shouldDeadLetter: (job) => !job.failedReason.startsWith('job cancelled'),
    })
    const worker = new Worker(
      source.name,
      () => {
        throw new UnrecoverableError('job cancelled: by operator')
      },
      { connection }
    )
    cleanups.push(() => worker.close())
    const failed = new Promise((resolve) => worker.once('failed', resolve))
    const job = await source.add('cancelled', {})
    await failed

    expect(await dlq.move(job.id!)).toBe(false)
    expect(await job.getState()).toBe('failed')
  })
})

describe('dead-letter queue with the failed set capped (keepFailed)', () => {
  it('when the cap runs before the moves, it moves the jobs that should die and removes only the others; their late moves find them moved, once', async () => {
    const { source, dlq } = setup({
      keepFailed: 2,
      shouldDeadLetter: (job) => !job.failedReason.startsWith('job cancelled'),
    })
    // No dead-letter hook: every move is late, as after a crash or a failed call to Redis.
    const worker = new Worker(
      source.name,
      (job) => {
        throw new UnrecoverableError(job.name === 'cancel' ? 'job cancelled: test' : 'boom')
      },
      { connection }
    )
    cleanups.push(() => worker.close())
    // One at a time, in this order: j01…j10 die, then j11…j15 are cancelled (newest).
    const ids = Array.from({ length: 15 }, (_, i) => `j${String(i + 1).padStart(2, '0')}`)
    const dying = ids.slice(0, 10)
    await source.addBulk(
      ids.map((id, i) => ({ name: i < 10 ? 'die' : 'cancel', data: { id }, opts: { jobId: id } }))
    )
    await until(async () => (await source.getFailedCount()) === 15, '15 failed jobs')

    // A cancelled job stays in failed, so the cap applies: the 13 oldest go.
    expect(await dlq.move('j11')).toBe(false)

    expect((await source.getFailed()).map((job) => job.id)).toEqual(['j15', 'j14'])
    expect(await dlq.count()).toBe(10)
    for (const id of dying) {
      expect((await dlq.get(id))?.data).toMatchObject({
        data: { id },
        failedReason: 'boom',
        attemptsMade: 1,
      })
    }
    for (const id of ['j11', 'j12', 'j13']) expect(await source.getJob(id)).toBeUndefined()

    // The stored jobs are gone: each late move answers moved, and adds no second entry.
    for (const id of dying) expect(await dlq.move(id)).toBe(true)
    expect(await dlq.count()).toBe(10)
  })

  it('when the worker trims failed jobs by count (removeOnFail), attaching the dead-letter queue is refused', () => {
    const { source, dlq } = setup({ keepFailed: 20 })
    const worker = new Worker(source.name, null, {
      connection,
      autorun: false,
      removeOnFail: { count: 20 },
    })
    cleanups.push(() => worker.close())

    expect(() => attachDeadLetter(worker, dlq)).toThrow(/removeOnFail count/)
  })
})

describe('replayIdOf()', () => {
  it('when an id was never replayed, appends -r1; when it was, counts up', () => {
    expect(replayIdOf('42')).toBe('42-r1')
    expect(replayIdOf('42-r1')).toBe('42-r2')
    expect(replayIdOf('order-r9')).toBe('order-r10')
  })
})
