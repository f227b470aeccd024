import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createBatchingProducer } from './batching-producer.ts'

// The test run's redis-server (the kit's vitest global setup sets it; a copier sets it).
const REDIS_URL = process.env.REDIS_URL
if (!REDIS_URL) throw new Error('Set REDIS_URL to a Redis these tests may write to')
const redis = new Redis(REDIS_URL)
afterAll(() => redis.quit())

const queues: Queue[] = []
afterEach(async () => {
  for (const queue of queues.splice(0)) {
    await queue.obliterate({ force: true })
    await queue.close()
  }
})

function newQueue() {
  const queue = new Queue<{ n: number }>(`batching-${randomUUID()}`, { connection: redis })
  queues.push(queue)
  return queue
}

describe('createBatchingProducer()', () => {
  it('when 200 adds are made at once, each caller gets its own job and they leave in few batches', async () => {
    const queue = newQueue()
    const batches: number[] = []
    const addBulk = queue.addBulk.bind(queue)
    queue.addBulk = (jobs) => {
      batches.push(jobs.length)
      return addBulk(jobs)
    }
    const producer = createBatchingProducer(queue, { maxBatch: 64 })

    const jobs = await Promise.all(
      Array.from({ length: 200 }, (_, n) => producer.add('count', { n }, { priority: n + 1 }))
    )

    expect(jobs.map((job) => job.data.n)).toEqual(Array.from({ length: 200 }, (_, n) => n))
    expect(new Set(jobs.map((job) => job.id)).size).toBe(200)
    expect(batches.reduce((a, b) => a + b, 0)).toBe(200)
    expect(Math.max(...batches)).toBeLessThanOrEqual(64)
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(200 / 64) + 1)
    expect(await queue.getJobCountByTypes('prioritized')).toBe(200)
    expect((await queue.getJob(jobs[7]!.id!))?.opts.priority).toBe(8)
  })

  it('when one add is made on a quiet producer, it is sent on the next turn', async () => {
    const queue = newQueue()
    const producer = createBatchingProducer(queue)

    const job = await producer.add('one', { n: 1 })

    expect(await queue.getJob(job.id!)).toBeDefined()
    expect(producer.pending).toBe(0)
  })

  it('when the batch fails, every caller of that batch gets the error', async () => {
    const queue = newQueue()
    queue.addBulk = () => Promise.reject(new Error('Redis is down'))
    const producer = createBatchingProducer(queue)

    const results = await Promise.allSettled([
      producer.add('a', { n: 1 }),
      producer.add('b', { n: 2 }),
    ])

    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    await producer.drain()
    expect(producer.pending).toBe(0)
  })

  it('when adds keep coming while a batch is in flight, they wait for it and leave together', async () => {
    const queue = newQueue()
    const batches: number[] = []
    const addBulk = queue.addBulk.bind(queue)
    queue.addBulk = (jobs) => {
      batches.push(jobs.length)
      return addBulk(jobs)
    }
    const producer = createBatchingProducer(queue)

    const first = producer.add('first', { n: 0 })
    await new Promise((resolve) => setImmediate(resolve))
    const rest = Array.from({ length: 30 }, (_, n) => producer.add('rest', { n }))
    await Promise.all([first, ...rest])

    expect(batches).toEqual([1, 30])
  })
})
