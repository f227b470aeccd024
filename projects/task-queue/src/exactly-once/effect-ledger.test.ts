import { randomUUID } from 'node:crypto'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createEffectLedger } from './effect-ledger.ts'

// The test run's redis-server (the kit's vitest global setup sets it; a copier sets it).
const REDIS_URL = process.env.REDIS_URL
if (!REDIS_URL) throw new Error('Set REDIS_URL to a Redis these tests may write to')
const redis = new Redis(REDIS_URL, {
  maxRetriesPerRequest: null,
})
afterAll(() => redis.quit())

/** A hash tag per test: the marker and the keys the writes touch share one slot. */
const tag = () => `{effects-${randomUUID()}}`

describe('createEffectLedger()', () => {
  it('when an effect is applied, its writes land and the marker says when', async () => {
    const t = tag()
    const ledger = createEffectLedger({ redis, prefix: `${t}:done`, now: () => 1234 })

    const outcome = await ledger.once('order-1', [
      { command: 'HINCRBY', key: `${t}:totals`, args: ['sku-1', 3] },
      { command: 'RPUSH', key: `${t}:outbox`, args: ['order-1'] },
    ])

    expect(outcome).toEqual({ applied: true, appliedAt: 1234 })
    expect(await redis.hget(`${t}:totals`, 'sku-1')).toBe('3')
    expect(await redis.lrange(`${t}:outbox`, 0, -1)).toEqual(['order-1'])
    expect(await ledger.appliedAt('order-1')).toBe(1234)
  })

  it('when the same effect is applied again, nothing is written and the first time is answered', async () => {
    const t = tag()
    let clock = 1000
    const ledger = createEffectLedger({ redis, prefix: `${t}:done`, now: () => clock })
    const write = { command: 'INCR', key: `${t}:count` }
    await ledger.once('job-7', [write])

    clock = 2000
    const again = await ledger.once('job-7', [write])

    expect(again).toEqual({ applied: false, appliedAt: 1000 })
    expect(await redis.get(`${t}:count`)).toBe('1')
  })

  it('when 100 calls race on one effect id, exactly one applies it', async () => {
    const t = tag()
    const ledger = createEffectLedger({ redis, prefix: `${t}:done` })

    const outcomes = await Promise.all(
      Array.from({ length: 100 }, () => ledger.once('race', [{ command: 'INCR', key: `${t}:n` }]))
    )

    expect(outcomes.filter((o) => o.applied)).toHaveLength(1)
    expect(await redis.get(`${t}:n`)).toBe('1')
  })

  it('when the marker is set, it expires after the ledger ttl', async () => {
    const t = tag()
    const ledger = createEffectLedger({ redis, prefix: `${t}:done`, ttlSeconds: 60 })

    await ledger.once('short', [])

    const ttl = await redis.ttl(`${t}:done:short`)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60)
  })

  it('when a job fails after its effect and is retried, the effect happens once and the handler twice', async () => {
    const t = tag()
    const name = `effects-${randomUUID()}`
    const queue = new Queue(name, { connection: redis })
    const ledger = createEffectLedger({ redis, prefix: `${t}:done` })
    const worker = new Worker(
      name,
      async (job) => {
        await redis.incr(`${t}:runs`)
        const { applied } = await ledger.once(job.id!, [
          { command: 'RPUSH', key: `${t}:sent`, args: [job.id!] },
        ])
        // The crash a worker can have after its effect and before BullMQ records completion.
        if (job.attemptsMade === 0) throw new Error('lost the ack')
        return applied
      },
      { connection: redis }
    )
    try {
      const done = new Promise<unknown>((resolve) =>
        worker.on('completed', (_job, result) => resolve(result))
      )
      const job = await queue.add('send', {}, { attempts: 2 })

      const appliedOnRetry = await done

      expect(appliedOnRetry).toBe(false)
      expect(await redis.get(`${t}:runs`)).toBe('2')
      expect(await redis.lrange(`${t}:sent`, 0, -1)).toEqual([job.id])
    } finally {
      await worker.close()
      await queue.obliterate({ force: true })
      await queue.close()
    }
  })
})
