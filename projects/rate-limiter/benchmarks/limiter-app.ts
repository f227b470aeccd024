/**
 * The app every benchmark target serves: ONE Hono app whose only limited route is
 * `GET /limited` → 200 'ok', with the limiter chosen by the environment in front of it, so every
 * variant runs the same server code and the same route and only the limiter differs.
 *
 *   VARIANT=kit   the project's own middleware (src/middleware/rate-limit.ts) as the service
 *                 wires it: draft-11 RateLimit-Policy + RateLimit, 429 with Retry-After and a
 *                 problem+json body; Redis limiters coalesced (COALESCE, default on) behind
 *                 createResilientLimiter (insurance, its store monitor, block cache), memory limiters
 *                 bare (as src/limits.ts builds them)
 *   VARIANT=rlf   rate-limiter-flexible's RateLimiterMemory / RateLimiterRedis wired as a Hono
 *                 middleware the way its README shows, sending the same headers and body
 *   VARIANT=floor no limiter, but a middleware that sets the same two draft fields (fixed values)
 *                 the way the kit does (c.header) and calls next(): the floor of any limiting
 *                 middleware that sends them
 *   VARIANT=bare  no limiter: the limit of the stack
 *
 * Both limiters key by the client IP through the project's resolver (no trusted proxy), or by the
 * X-Client-Id header when CLIENT_KEY says so, so the key costs the same on both sides. Both Redis
 * variants get their client from @kit/redis `createRedis(url, { role: 'request' })`:
 * enableOfflineQueue false, maxRetriesPerRequest 1, connectTimeout 1000, and no command timeout
 * (the service's settings, src/service.ts)
 * (rate-limiter-flexible's README asks ioredis for `enableOfflineQueue: false` too), plus
 * `enableAutoPipelining` when AUTO_PIPELINING=true.
 */
import { getConnInfo } from '@hono/node-server/conninfo'
import { createRedis, waitForRedis } from '@kit/redis'
import { Hono, type Context, type Handler, type MiddlewareHandler } from 'hono'
import type { Redis } from 'ioredis'
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible'
import { createClientIpResolver } from '../src/client-identity/client-key.ts'
import {
  createCoalescingLimiter,
  createMemoryLimiter,
  createRedisLimiter,
  createResilientLimiter,
  createStoreMonitor,
  type Limiter,
  type Policy,
} from '../src/limiter/index.ts'
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPES } from '../src/middleware/problem-details.ts'
import { rateLimit } from '../src/middleware/rate-limit.ts'
import { POLICY_NAME, type ParsedServerEnv } from './server-env.ts'

type Env = ParsedServerEnv

const resolveIp = createClientIpResolver({ trustProxy: 0 })

/** The client IP, as the service keys anonymous clients (src/app.ts). */
function clientIp(c: Context): string {
  return `ip:${resolveIp(getConnInfo(c).remote.address, () => c.req.header('x-forwarded-for')) ?? 'unknown'}`
}

/** The client id the generator sends, as the service keys an API key's owner. */
function clientId(c: Context): string {
  return `id:${c.req.header('x-client-id') ?? 'none'}`
}

function connectRedis(env: Env, name: string): Redis {
  return createRedis(env.REDIS_URL as string, {
    role: 'request',
    name,
    redisOptions: { enableAutoPipelining: env.AUTO_PIPELINING, commandTimeout: undefined },
  })
}

/** The kit's limiter for this policy, built as src/limits.ts builds the service's. */
function kitLimiter(env: Env, policy: Policy, redis: Redis | undefined): Limiter {
  if (redis === undefined) {
    const memory = createMemoryLimiter(policy)
    // The service runs memory limiters bare; the rejected scenarios also measure the block cache
    // in front of one (the resilient wrapper's cache works on any limiter).
    return env.BLOCK_CACHE
      ? createResilientLimiter(memory, { onStoreFailure: 'fail-closed', blockCache: true })
      : memory
  }
  const store = createRedisLimiter(policy, { redis, prefix: env.KEY_PREFIX })
  return createResilientLimiter(env.COALESCE ? createCoalescingLimiter(store) : store, {
    onStoreFailure: 'insurance',
    monitor: createStoreMonitor({
      ping: () => redis.ping(),
      connected: () => redis.status === 'ready',
    }),
    insurance: createMemoryLimiter(policy),
    blockCache: env.BLOCK_CACHE,
  })
}

/**
 * rate-limiter-flexible as a Hono middleware: its README's pattern (consume, a rejection is a
 * RateLimiterRes), sending the draft-11 fields and the problem+json refusal the kit sends.
 */
function rlfMiddleware(
  limiter: RateLimiterAbstract,
  env: Env,
  clientKey: (c: Context) => string
): MiddlewareHandler {
  const policyField = `"${POLICY_NAME}";q=${env.LIMIT};w=${env.WINDOW_MS / 1000}`
  return async function rateLimiterFlexible(c, next) {
    let res: RateLimiterRes
    try {
      res = await limiter.consume(clientKey(c))
    } catch (rejection) {
      // A store error (not a RateLimiterRes) is the app's to answer, as in the kit.
      if (!(rejection instanceof RateLimiterRes)) throw rejection
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000))
      const problem = {
        type: PROBLEM_TYPES.quotaExceeded,
        title: 'Too Many Requests',
        status: 429,
        code: 'quota_exceeded',
        detail: `Quota exceeded: ${POLICY_NAME}`,
        'violated-policies': [POLICY_NAME],
      }
      return c.body(JSON.stringify(problem), 429, {
        'Content-Type': PROBLEM_CONTENT_TYPE,
        'Retry-After': String(retryAfter),
        'RateLimit-Policy': policyField,
        RateLimit: `"${POLICY_NAME}";r=0;t=${retryAfter}`,
      })
    }
    c.header('RateLimit-Policy', policyField)
    c.header(
      'RateLimit',
      `"${POLICY_NAME}";r=${res.remainingPoints};t=${Math.ceil(res.msBeforeNext / 1000)}`
    )
    await next()
  }
}

/**
 * What every limiter that answers with the draft's fields pays before deciding anything: the two
 * fields on the response, set as the kit sets them (c.header), and Hono's compose in front of
 * the route. Values are fixed; nothing is counted.
 */
function floorFields(env: Env): { policyField: string; rateLimitField: string } {
  return {
    policyField: `"${POLICY_NAME}";q=${env.LIMIT};w=${env.WINDOW_MS / 1000}`,
    rateLimitField: `"${POLICY_NAME}";r=${env.LIMIT - 1};t=${env.WINDOW_MS / 1000}`,
  }
}

/** rate-limiter-flexible with the same limit, window and outage policy (insurance) as the kit. */
function rlfLimiter(env: Env, redis: Redis | undefined): RateLimiterAbstract {
  const options = { points: env.LIMIT, duration: env.WINDOW_MS / 1000, keyPrefix: env.KEY_PREFIX }
  if (redis === undefined) return new RateLimiterMemory(options)
  return new RateLimiterRedis({
    ...options,
    storeClient: redis,
    insuranceLimiter: new RateLimiterMemory(options),
    // Its README's block strategy: keys over the limit are refused from memory until reset.
    ...(env.BLOCK_CACHE && { inMemoryBlockOnConsumed: env.LIMIT }),
  })
}

/** Builds the app for `env`; `close()` releases the Redis client. */
export async function createLimiterApp(env: Env) {
  const redis =
    env.VARIANT !== 'bare' && env.BACKEND === 'redis'
      ? connectRedis(env, `bench-${env.VARIANT}`)
      : undefined
  // /healthz answers only once Redis does: the first measured request must meet Redis, not an
  // outage policy.
  if (redis) await waitForRedis(redis, 10_000)

  const policy: Policy = {
    name: POLICY_NAME,
    algorithm: env.ALGORITHM,
    limit: env.LIMIT,
    windowMs: env.WINDOW_MS,
  }
  const app = new Hono()
  app.get('/healthz', (c) => c.text('ok'))
  const { middleware, handler } = limitedRoute(env, policy, redis)
  if (middleware) app.get('/limited', middleware, handler)
  else app.get('/limited', handler)

  return {
    app,
    async close() {
      await redis?.quit().catch(() => redis.disconnect())
    },
  }
}

/** GET /limited: 200 'ok' behind the variant's limiter, a middleware in front of the handler. */
function limitedRoute(
  env: Env,
  policy: Policy,
  redis: Redis | undefined
): { middleware?: MiddlewareHandler; handler: Handler } {
  const clientKey = env.CLIENT_KEY === 'ip' ? clientIp : clientId
  const ok: Handler = (c) => c.text('ok')
  switch (env.VARIANT) {
    case 'bare':
      return { handler: ok }
    case 'rlf':
      return { middleware: rlfMiddleware(rlfLimiter(env, redis), env, clientKey), handler: ok }
    case 'floor': {
      const { policyField, rateLimitField } = floorFields(env)
      return {
        middleware: function headersOnly(c, next) {
          c.header('RateLimit-Policy', policyField, { append: true })
          c.header('RateLimit', rateLimitField, { append: true })
          return next()
        },
        handler: ok,
      }
    }
    case 'kit':
      return {
        middleware: rateLimit({ limiters: [kitLimiter(env, policy, redis)], key: clientKey }),
        handler: ok,
      }
  }
}
