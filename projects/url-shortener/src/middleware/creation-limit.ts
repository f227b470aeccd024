import { getConnInfo } from '@hono/node-server/conninfo'
import { HttpError } from '@kit/http'
import type { Context, MiddlewareHandler } from 'hono'
import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import type { RateLimiterAbstract } from 'rate-limiter-flexible'

export type CreationLimiterOptions = {
  /** Creates allowed per client per minute. */
  perMinute: number
  /** Shared counters across instances; without it each instance counts on its own. */
  redis?: Redis
  keyPrefix?: string
}

/**
 * The per-client creation budget (rate-limiter-flexible, fixed one-minute window). With Redis the
 * count is shared by every instance; if Redis fails, an in-memory limiter with the same budget
 * takes over (the library's insurance limiter), so creation is limited per instance rather than
 * not at all, and never fails because of Redis.
 */
export function createCreationLimiter({
  perMinute,
  redis,
  keyPrefix = 'url-shortener:create-limit',
}: CreationLimiterOptions): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ keyPrefix, points: perMinute, duration: 60 })
  if (!redis) return memory
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix,
    points: perMinute,
    duration: 60,
    rejectIfRedisNotReady: true,
    insuranceLimiter: memory,
  })
}

/**
 * The client's IP: the TCP peer address. Behind a proxy every client shares the proxy's address:
 * put the limit at the proxy, or derive the key from a trusted X-Forwarded-For there.
 */
export function clientIp(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown'
  } catch {
    // app.request() in tests has no socket.
    return 'unknown'
  }
}

export type LimitCreationsOptions = {
  limiter: RateLimiterAbstract
  key?: (c: Context) => string
  /** Requests that do not consume the budget (e.g. authenticated ones). */
  skip?: (c: Context) => boolean
}

/**
 * Consumes one point per request; over the budget, answers 429 with `Retry-After` (seconds,
 * RFC 9110 §10.2.3) and the kit's problem details. Named for what it limits: the kit's rate
 * limiter project has a general `rateLimit`; this one only guards anonymous creates.
 *
 * @example
 * ```ts
 * app.post('/api/links', limitCreations({ limiter: createCreationLimiter({ perMinute: 60 }) }), create)
 * ```
 */
export function limitCreations({
  limiter,
  key = clientIp,
  skip,
}: LimitCreationsOptions): MiddlewareHandler {
  return async function limitCreations(c, next) {
    if (skip?.(c)) return next()
    try {
      await limiter.consume(key(c))
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000))
      throw new HttpError(429, 'rate_limited', `Too many links created; retry in ${retryAfter} s`, {
        headers: { 'Retry-After': String(retryAfter) },
      })
    }
    return next()
  }
}
