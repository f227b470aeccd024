// A second (and third) process for the atomicity test: on each message it waits for `fireAt`,
// fires `count` concurrent consumes at one key and reports how many were admitted.
import { Redis } from 'ioredis'
import {
  createCoalescingLimiter,
  createRedisLimiter,
  type Algorithm,
} from '../src/limiter/index.ts'
import { createNaiveLimiter } from './limiter-naive-fixture.ts'

export type BurstRequest = {
  algorithm: Algorithm | 'naive'
  prefix: string
  key: string
  limit: number
  windowMs: number
  count: number
  /** Put createCoalescingLimiter in front (the service's default on Redis). */
  coalesce?: boolean
  /** Epoch ms at which to fire, so both processes hit Redis together. */
  fireAt: number
}
export type BurstResult = {
  allowed: number
  /** Consumes the Redis limiter ran (one script call each); 0 for the naive fixture. */
  storeCalls: number
  startedAt: number
  finishedAt: number
}

const redis = new Redis(process.env['REDIS_URL'] as string)
await redis.ping()
process.send?.('ready')

process.on('message', (request: BurstRequest) => void burst(request))

async function burst(request: BurstRequest): Promise<void> {
  const { algorithm, prefix, key, limit, windowMs, count, fireAt, coalesce = false } = request
  let consume: () => Promise<boolean>
  let storeCalls = 0
  if (algorithm === 'naive') {
    const naive = createNaiveLimiter(redis, { limit, windowMs })
    consume = () => naive.consume(`${prefix}${key}`)
  } else {
    const policy = { name: 'burst', algorithm, limit, windowMs }
    const redisLimiter = createRedisLimiter(policy, { redis, prefix })
    const store = {
      ...redisLimiter,
      consume(key: string, cost?: number) {
        storeCalls++
        return redisLimiter.consume(key, cost)
      },
      consumeBatch(key: string, cost: number, count: number) {
        storeCalls++
        return redisLimiter.consumeBatch(key, cost, count)
      },
    }
    const limiter = coalesce ? createCoalescingLimiter(store) : store
    consume = async () => (await limiter.consume(key)).allowed
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, fireAt - Date.now())))
  const startedAt = Date.now()
  const results = await Promise.all(Array.from({ length: count }, consume))
  const result: BurstResult = {
    allowed: results.filter(Boolean).length,
    storeCalls,
    startedAt,
    finishedAt: Date.now(),
  }
  process.send?.(result)
}

process.on('disconnect', () => redis.disconnect())
