import type { Redis } from 'ioredis'

/**
 * DELIBERATELY WRONG, for tests only: reads the count, decides in Node, then writes it back.
 * Requests that read the same count all pass (the race the Redis INCR docs warn about in
 * "Pattern: Rate limiter 2"). It exists to prove the atomicity test can see such races.
 */
export function createNaiveLimiter(
  redis: Redis,
  { limit, windowMs }: { limit: number; windowMs: number }
) {
  return {
    async consume(key: string): Promise<boolean> {
      const count = Number((await redis.get(key)) ?? 0)
      if (count >= limit) return false
      await redis.set(key, count + 1, 'PX', windowMs)
      return true
    },
  }
}
