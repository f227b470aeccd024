import { randomUUID } from 'node:crypto'
import { Queue, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createFairQueue, type FairQueueOptions } from './fair-queue.ts'

// The test run's redis-server (the kit's vitest global setup sets it; a copier sets it).
const REDIS_URL = process.env.REDIS_URL
if (!REDIS_URL) throw new Error('Set REDIS_URL to a Redis these tests may write to')
const redis = new Redis(REDIS_URL, {
  maxRetriesPerRequest: null,
})
afterAll(() => redis.quit())

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

type Data = { tenant: string; n: number }

function setup(options: Partial<FairQueueOptions> = {}) {
  const name = `fair-${randomUUID()}`
  const queue = new Queue<Data>(name, { connection: redis })
  const keyPrefix = `{${name}}:fair`
  const fair = createFairQueue<Data>({ redis, queue, keyPrefix, ...options })
  cleanups.push(async () => {
    await fair.close()
    await queue.obliterate({ force: true })
    await queue.close()
    const keys = await redis.keys(`${keyPrefix}:*`)
    if (keys.length > 0) await redis.del(...keys)
  })
  const add = (tenant: string, n: number) =>
    fair.add(tenant, 'work', { tenant, n }, { jobId: `${tenant}-${n}` })
  return { queue, fair, add }
}

/** The queue's waiting jobs in the order a worker takes them. */
async function takeOrder(queue: Queue<Data>): Promise<string[]> {
  const jobs = await queue.getJobs(['wait'], 0, -1, true)
  return jobs.map((job) => job.id!)
}

describe('createFairQueue()', () => {
  it('when tenants have backlogs, a dispatch takes one job of each in turn', async () => {
    const { queue, fair, add } = setup()
    for (let n = 1; n <= 4; n++) await add('a', n)
    await add('b', 1)
    await add('b', 2)
    await add('c', 1)

    const moved = await fair.dispatch(100)

    expect(moved).toBe(7)
    expect(await takeOrder(queue)).toEqual(['a-1', 'b-1', 'c-1', 'a-2', 'b-2', 'a-3', 'a-4'])
    expect(await fair.backlog()).toBe(0)
  })

  it('when a dispatch takes fewer jobs than the backlogs hold, the turn resumes where it stopped', async () => {
    const { queue, fair, add } = setup()
    for (const tenant of ['a', 'b', 'c']) for (let n = 1; n <= 2; n++) await add(tenant, n)

    await fair.dispatch(2)
    await fair.dispatch(2)

    expect(await takeOrder(queue)).toEqual(['a-1', 'b-1', 'c-1', 'a-2'])
    expect(await fair.backlog()).toBe(2)
  })

  it('when a job id is added twice, the second add is refused', async () => {
    const { fair, add } = setup()

    const first = await add('a', 1)
    const second = await add('a', 1)

    expect(first.added).toBe(true)
    expect(second.added).toBe(false)
    expect(await fair.backlog()).toBe(1)
  })

  it('when a pending job is cancelled, it is never dispatched; once dispatched it cannot be', async () => {
    const { queue, fair, add } = setup()
    await add('a', 1)
    await add('a', 2)

    expect(await fair.pending('a-1')).toMatchObject({ tenant: 'a', data: { n: 1 } })
    expect(await fair.cancel('a-1')).toBe(true)
    await fair.dispatch(10)

    expect(await takeOrder(queue)).toEqual(['a-2'])
    expect(await fair.pending('a-2')).toBeUndefined()
    expect(await fair.cancel('a-2')).toBe(false)
  })

  it('when the dispatcher dies between taking jobs and adding them, recover() adds them once', async () => {
    const { queue, fair, add } = setup({ recoverAfterMs: 0 })
    await add('a', 1)
    await add('b', 1)
    const addBulk = queue.addBulk.bind(queue)
    queue.addBulk = () => Promise.reject(new Error('killed mid-dispatch'))

    await expect(fair.dispatch(10)).rejects.toThrow('killed mid-dispatch')
    queue.addBulk = addBulk
    const recovered = await fair.recover()
    const again = await fair.recover()

    expect(recovered).toBe(2)
    expect(again).toBe(0)
    expect((await takeOrder(queue)).sort()).toEqual(['a-1', 'b-1'])
    expect(await fair.backlog()).toBe(0)
  })

  it('when the dispatched job runs, its timestamp is when the producer added it', async () => {
    let clock = 1_000_000
    const { queue, fair, add } = setup({ now: () => clock })
    await add('a', 1)

    clock += 5000
    await fair.dispatch(1)

    expect((await queue.getJob('a-1'))?.timestamp).toBe(1_000_000)
  })

  it('when a noisy tenant sends a burst, a quiet tenant is served within one window, not after the burst', async () => {
    const { queue, fair, add } = setup({ window: 5, pollMs: 2 })
    const order: string[] = []
    const worker = new Worker<Data>(
      queue.name,
      async (job: Job<Data>) => {
        order.push(job.data.tenant)
        await new Promise((resolve) => setTimeout(resolve, 1))
      },
      { connection: redis, concurrency: 2 }
    )
    cleanups.push(() => worker.close())
    for (let n = 1; n <= 200; n++) await add('noisy', n)
    fair.start()
    // The quiet tenant arrives while the burst is being worked through.
    while (order.length < 10) await new Promise((resolve) => setTimeout(resolve, 5))
    const arrivedAt = order.length
    await add('quiet', 1)
    await add('quiet', 2)

    while (order.filter((t) => t === 'quiet').length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }

    const quietServedAt = order.lastIndexOf('quiet')
    // Two quiet jobs, each behind at most a window of noisy ones (plus those being worked on).
    expect(quietServedAt - arrivedAt).toBeLessThan(2 * (5 + 2) + 2)
    expect(order.length).toBeLessThan(200)
  })
})
