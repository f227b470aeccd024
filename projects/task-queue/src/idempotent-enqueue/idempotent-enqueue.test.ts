import { createHash, randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  createIdempotentEnqueue,
  fingerprintOf,
  IdempotencyKeyReusedError,
} from './idempotent-enqueue.ts'

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

function setup(ttlSeconds?: number) {
  const queue = new Queue(`idem-${randomUUID()}`, { connection: redis })
  queues.push(queue)
  const once = createIdempotentEnqueue({
    redis,
    prefix: `test:idempotency:${queue.name}`,
    ...(ttlSeconds !== undefined && { ttlSeconds }),
  })
  const send = (key: string, data: object = { to: 'a@example.com' }) =>
    once.enqueue({
      key,
      jobId: randomUUID(),
      fingerprint: { name: 'email', data },
      add: (jobId) => queue.add('email', data, { jobId }),
    })
  return { queue, once, send }
}

describe('createIdempotentEnqueue()', () => {
  it('when a key is sent twice, one job exists and the second answer is a duplicate of it', async () => {
    const { queue, send } = setup()

    const first = await send('order-42')
    const second = await send('order-42')

    expect(first.duplicate).toBe(false)
    expect(second).toEqual({ jobId: first.jobId, duplicate: true })
    expect(await queue.getJobCountByTypes('wait')).toBe(1)
  })

  it('when 100 requests with one key race, exactly one job is created and 99 are duplicates', async () => {
    const { queue, send } = setup()

    const results = await Promise.all(Array.from({ length: 100 }, () => send('race')))

    expect(new Set(results.map((r) => r.jobId)).size).toBe(1)
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1)
    expect(await queue.getJobCountByTypes('wait')).toBe(1)
  })

  it('when the first add failed, the retry with the same key adds the job under the claimed id', async () => {
    const { queue, once } = setup()
    const data = { to: 'b@example.com' }
    const request = (add: (jobId: string) => Promise<unknown>) =>
      once.enqueue({ key: 'flaky', jobId: randomUUID(), fingerprint: { name: 'email', data }, add })

    const failed = request(() => Promise.reject(new Error('connection lost')))
    await expect(failed).rejects.toThrow('connection lost')
    const retried = await request((jobId) => queue.add('email', data, { jobId }))

    expect(retried.duplicate).toBe(true)
    expect((await queue.getJob(retried.jobId))?.data).toEqual(data)
    expect(await queue.getJobCountByTypes('wait')).toBe(1)
  })

  it('when the job was removed after completing, the key still answers duplicate', async () => {
    const { queue, send } = setup()
    const first = await send('removed')

    await queue.remove(first.jobId)
    const again = await send('removed')

    expect(again).toEqual({ jobId: first.jobId, duplicate: true })
    expect(await queue.getJobCountByTypes('wait')).toBe(0)
  })

  it('when a key is reused for another payload, refuses naming the job that holds it', async () => {
    const { send } = setup()
    const first = await send('reused', { to: 'a@example.com' })

    const other = send('reused', { to: 'someone-else@example.com' })

    await expect(other).rejects.toBeInstanceOf(IdempotencyKeyReusedError)
    await expect(other).rejects.toMatchObject({ jobId: first.jobId })
  })

  it('when the window has passed, the key creates a new job', async () => {
    const { queue, send } = setup(1)
    const first = await send('expiring')

    await redis.pexpire(`test:idempotency:${queue.name}:${hashOf('expiring')}`, 1)
    await new Promise((resolve) => setTimeout(resolve, 20))
    const second = await send('expiring')

    expect(second.duplicate).toBe(false)
    expect(second.jobId).not.toBe(first.jobId)
  })
})

describe('fingerprintOf()', () => {
  it('when object keys come in another order, answers the same digest', () => {
    expect(fingerprintOf({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(
      fingerprintOf({ b: { d: 'x', c: [1, 2] }, a: 1 })
    )
  })

  it('when a value differs, answers another digest', () => {
    expect(fingerprintOf({ a: 1 })).not.toBe(fingerprintOf({ a: 2 }))
  })
})

function hashOf(key: string): string {
  return createHash('sha256').update(key).digest('base64url')
}
