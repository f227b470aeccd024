// A limiter process whose wall clock is skewed by libfaketime (clock-skew.test.ts starts it
// under `faketime -f ±30s`). It reports its own Date.now() so the test can see the skew is
// real, and on each message fires `count` concurrent consumes at one Redis key.
import { Redis } from 'ioredis'
import { createRedisLimiter, type Algorithm } from '../src/limiter/index.ts'

export type SkewReady = { type: 'ready'; now: number }
export type SkewBurstRequest = {
  algorithm: Algorithm
  prefix: string
  key: string
  limit: number
  windowMs: number
  count: number
  /** Relative, not an epoch time: this process' epoch is deliberately wrong. */
  delayMs: number
}
export type SkewBurstResult = { type: 'burst'; allowed: number; now: number }

const redis = new Redis(process.env['REDIS_URL'] as string)
await redis.ping()
process.send?.({ type: 'ready', now: Date.now() } satisfies SkewReady)

process.on('message', (request: SkewBurstRequest) => void burst(request))

async function burst(request: SkewBurstRequest): Promise<void> {
  const { algorithm, prefix, key, limit, windowMs, count, delayMs } = request
  const limiter = createRedisLimiter(
    { name: 'skew', algorithm, limit, windowMs },
    { redis, prefix }
  )
  await new Promise((resolve) => setTimeout(resolve, delayMs))
  const now = Date.now()
  const decisions = await Promise.all(Array.from({ length: count }, () => limiter.consume(key)))
  const result: SkewBurstResult = {
    type: 'burst',
    allowed: decisions.filter((d) => d.allowed).length,
    now,
  }
  process.send?.(result)
}

process.on('disconnect', () => redis.disconnect())
