import { randomUUID } from 'node:crypto'
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createDeadLetterQueue, type DeadLetterQueue } from './dead-letter-queue.ts'

/** The test Redis (the kit's vitest setup sets REDIS_URL); never a default one. */
function redisUrl(): string {
  const url = process.env.REDIS_URL
  if (!url) throw new Error('REDIS_URL must point at a test redis-server')
  return url
}

// Real Redis from the test setup (REDIS_URL); one prefix per test.
const connection = new Redis(redisUrl(), { maxRetriesPerRequest: null })
const closers: (() => Promise<unknown>)[] = []
afterAll(() => connection.quit())

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

function setup() {
  const prefix = `test-dlq-${randomUUID()}`
  const queue = new Queue('{orders}', { connection, prefix })
  const dlq = createDeadLetterQueue({ connection, prefix })
  closers.push(
    () => queue.obliterate({ force: true }).then(() => queue.close()),
    () => dlq.queue.obliterate({ force: true }).then(() => dlq.close())
  )
  return { prefix, queue, dlq }
}

/** A worker that buries a job once it will not be retried again, and reports each burial. */
function worker(prefix: string, dlq: DeadLetterQueue, processor: (job: Job) => Promise<unknown>) {
  const buried: string[] = []
  let onBuried: (() => void) | undefined
  const w = new Worker('{orders}', processor, { connection, prefix })
  w.on('failed', (job, error) => {
    if (!job) return
    const final =
      error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1)
    if (!final) return
    void dlq.bury(job, error.message).then((id) => {
      buried.push(id)
      onBuried?.()
    })
  })
  closers.push(() => w.close())
  return {
    buried,
    nextBurial: () => new Promise<void>((resolve) => (onBuried = resolve)),
  }
}

describe('createDeadLetterQueue()', () => {
  it('when a job runs out of attempts, it lands in the dead-letter queue with its reason and data', async () => {
    const { prefix, queue, dlq } = setup()
    const w = worker(prefix, dlq, () => Promise.reject(new Error('provider down')))
    const buried = w.nextBurial()

    await queue.add('charge', { orderId: 7 }, { jobId: 'o7', attempts: 2 })
    await buried

    const [letter] = await dlq.list()
    expect(letter).toMatchObject({
      queue: '{orders}',
      jobId: 'o7',
      name: 'charge',
      data: { orderId: 7 },
      reason: 'provider down',
      attemptsMade: 2,
    })
  })

  it('when the same job is buried twice, it is there once', async () => {
    const { dlq } = setup()
    const job = { queueName: '{orders}', id: 'o1', name: 'charge', data: {}, attemptsMade: 1 }

    await dlq.bury(job, 'x')
    await dlq.bury(job, 'x')

    expect(await dlq.count()).toBe(1)
  })

  it('when replayed, the job runs again on its queue, and a second replay does nothing', async () => {
    const { prefix, queue, dlq } = setup()
    let healthy = false
    const processed: string[] = []
    const w = worker(prefix, dlq, (job) => {
      if (!healthy) return Promise.reject(new UnrecoverableError('refused'))
      processed.push(String(job.id))
      return Promise.resolve()
    })
    const buried = w.nextBurial()
    await queue.add('charge', { orderId: 9 }, { jobId: 'o9' })
    await buried
    const [letter] = await dlq.list()
    healthy = true

    const replayed = await dlq.replay(letter!.id, (name) =>
      name === '{orders}' ? queue : undefined
    )
    const job = await queue.getJob(replayed!)
    await new Promise<void>((resolve) => {
      const check = () =>
        void job!.isCompleted().then((done) => (done ? resolve() : setTimeout(check, 20)))
      check()
    })

    expect(processed).toEqual([replayed])
    expect(await dlq.replay(letter!.id, () => queue)).toBeNull()
    expect(await dlq.count()).toBe(0)
  })
})
