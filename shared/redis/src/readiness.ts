import type { Redis } from 'ioredis'

/** The client did not become ready in time. */
export class RedisNotReadyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}

/** true when the client is connected and ready. Cheap: no round trip, fine per request. */
export function isRedisReady(redis: Redis): boolean {
  return redis.status === 'ready'
}

/**
 * A readiness probe: the client is ready AND Redis answers PING within `timeoutMs`.
 * Never throws, so it can back a /readyz check as is.
 *
 * @example
 * ```ts
 * createHealth([{ name: 'redis', critical: true, check: () => pingRedis(redis) }])
 * ```
 */
export async function pingRedis(redis: Redis, timeoutMs = 250): Promise<boolean> {
  if (!isRedisReady(redis)) return false
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, false)
  })
  try {
    const answered = redis.ping().then(
      (reply) => reply === 'PONG',
      () => false
    )
    return await Promise.race([answered, timedOut])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Resolves when the client is ready (at once if it already is); rejects with a
 * RedisNotReadyError after `timeoutMs`, or as soon as the client has been closed for good.
 *
 * @example
 * ```ts
 * const redis = createRedis(config.REDIS_URL, { logger })
 * await waitForRedis(redis, 10_000) // at start-up: fail fast when Redis is unreachable
 * ```
 */
export function waitForRedis(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (isRedisReady(redis)) return Promise.resolve()
  if (redis.status === 'end') {
    return Promise.reject(new RedisNotReadyError('Redis client was closed'))
  }
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer)
      redis.off('ready', onReady)
      redis.off('end', onEnd)
      if (error) reject(error)
      else resolve()
    }
    const onReady = () => settle()
    const onEnd = () => settle(new RedisNotReadyError('Redis client was closed'))
    const timer = setTimeout(
      () => settle(new RedisNotReadyError(`Redis not ready after ${timeoutMs} ms`)),
      timeoutMs
    )
    redis.once('ready', onReady)
    redis.once('end', onEnd)
  })
}
