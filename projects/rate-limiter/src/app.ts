import { getConnInfo } from '@hono/node-server/conninfo'
import {
  errorHandler,
  HttpError,
  kitMiddleware,
  limitBody,
  notFoundHandler,
  problemResponse,
  validator,
  type createHealth,
  type createMetrics,
} from '@kit/http'
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import type { Logger } from 'pino'
import { z } from 'zod'
import { createClientIpResolver, hashIdentifier } from './client-identity/client-key.ts'
import type { Config, RouteId } from './config.ts'
import { PROBLEM_TYPES } from './middleware/problem-details.ts'
import { toWindowSeconds } from './middleware/ratelimit-headers.ts'
import {
  ALGORITHMS,
  InvalidRequestError,
  StoreUnavailableError,
  type Algorithm,
  type Limiter,
} from './limiter/index.ts'
import type { Limits } from './limits.ts'
import type { RateLimitMetrics } from './metrics.ts'
import { concurrencyLimit } from './middleware/concurrency-limit.ts'
import { loadShed } from './middleware/load-shed.ts'
import { rateLimit, rateLimitPolicyField } from './middleware/rate-limit.ts'

/** Bodies of the demo's POST routes: a report request is small, an upload up to 1 MiB. */
export const MAX_JSON_BYTES = 16 * 1024
export const MAX_UPLOAD_BYTES = 1024 * 1024
/** The most simulated work GET /api/priority accepts (?work=ms). */
export const MAX_WORK_MS = 5000
/** POST /api/decisions keys are namespaced so they never meet the routes' own client keys. */
const DECISION_KEY_PREFIX = 'decision:'
/** A decision key is an identifier (a user id, an email, an address), not data. */
const DECISION_KEY = /^[A-Za-z0-9_.:@/+=-]{1,128}$/

export type AppSettings = Pick<
  Config,
  | 'TRUST_PROXY'
  | 'IPV6_PREFIX'
  | 'SHADOW_MODE'
  | 'LEGACY_HEADERS'
  | 'RETRY_JITTER_SECONDS'
  | 'RATELIMIT_FIELD'
  | 'API_KEY_SECRET'
  | 'POLICIES'
>

export type AppDeps = {
  config: AppSettings
  /** Every limiter, built from the config by createLimits. */
  limits: Limits
  logger: Logger
  /** /readyz reads it; the same object goes to serveApp, which marks it draining on SIGTERM. */
  health: ReturnType<typeof createHealth>
  /** true while the limiters' store answers (always true for the memory backend). */
  storeUp: () => boolean
  /** Request metrics and GET /metrics. */
  metrics?: ReturnType<typeof createMetrics>
  /** The limiters' metrics (allowed, limited, near-limit, store failures...). */
  rateLimitMetrics?: RateLimitMetrics
  clock?: () => number
}

/**
 * The request body. A client that closes the connection before sending all of it is not a server
 * error: 400 `client_closed_request` (no one reads it), so it is neither logged as an error nor
 * refunded as our failure.
 */
async function readBody(c: Context): Promise<ArrayBuffer> {
  try {
    return await c.req.arrayBuffer()
  } catch (error) {
    if (!c.req.raw.signal.aborted) throw error
    throw new HttpError(
      400,
      'client_closed_request',
      'The client closed the connection before the body was complete',
      { cause: error }
    )
  }
}

const passThrough: MiddlewareHandler = (_c, next) => next()

/** Who is calling: a key for the limiters and, for a known API key, its tier. */
type Client = { key: string; tier?: string }
type AppEnv = { Variables: { client: Client } }

/**
 * Builds the demo service: a few routes, each protected by configured policies. Opens nothing
 * and listens nowhere: main.ts (or a test) passes in real dependencies and serves the result.
 *
 * | route                             | protection                                              |
 * | --------------------------------- | ------------------------------------------------------- |
 * | GET  /api/resource                | `routes.resource`; a known API key's tier swaps them    |
 * | POST /api/reports                 | `routes.reports`, each request costs `cost` (5) units   |
 * | GET  /api/search                  | two policies at once: a per-second burst, a per-minute  |
 * | POST /api/uploads                 | `routes.uploads` + at most `concurrency` (2) in flight  |
 * | GET  /api/priority                | the load shedder (`X-Priority: critical` uses reserve)  |
 * | GET  /api/algorithms/:algorithm   | one policy per algorithm (`routes.algorithms` numbers)  |
 * | POST /api/decisions               | the limiter as a service; `routes.decisions` per caller |
 * | GET  /healthz, /readyz, /metrics  | not limited                                             |
 *
 * @example
 * ```ts
 * const app = createApp({ config, limits, logger, health, storeUp: () => true })
 * const res = await app.request('/api/resource')
 * ```
 */
export function createApp({
  config,
  limits,
  logger,
  health,
  storeUp,
  metrics,
  rateLimitMetrics,
  clock = Date.now,
}: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  app.use(kitMiddleware({ logger }))
  if (metrics) app.use(metrics.middleware)
  const kitErrors = errorHandler({ logger })
  app.onError((error, c) => {
    // A limiter refusing its input (key over 512 bytes, a bad cost): the caller's mistake.
    if (error instanceof InvalidRequestError) {
      const path = error.field ?? 'request'
      return problemResponse(400, 'invalid_rate_limit_request', error.message, {
        errors: [{ path, message: error.message }],
      })
    }
    return kitErrors(error, c)
  })
  app.notFound(notFoundHandler)

  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', async (c) => {
    const report = await health.report()
    const up = storeUp()
    return c.json(
      {
        ...report,
        store: {
          backend: limits.backend,
          state: up ? 'up' : 'down',
          onStoreFailure: limits.onStoreFailure,
          // What a request gets right now: the store's decision, or the outage policy's.
          deciding: up || limits.backend === 'memory' ? limits.backend : limits.onStoreFailure,
        },
      },
      report.status === 'unavailable' || report.status === 'draining' ? 503 : 200
    )
  })
  if (metrics) app.get('/metrics', metrics.handler)

  const resolveIp = createClientIpResolver({
    trustProxy: config.TRUST_PROXY,
    ipv6Prefix: config.IPV6_PREFIX,
  })
  // Only the hashes of the configured keys are kept; an unknown key is just anonymous traffic,
  // never a fresh quota (else a client could mint a new key per request).
  const tiers = new Map(
    Object.entries(config.POLICIES.apiKeys).map(([key, tier]) => [
      hashIdentifier(key, config.API_KEY_SECRET),
      tier,
    ])
  )
  function identify(c: Context<AppEnv>): Client {
    const apiKey = c.req.header('x-api-key')
    if (apiKey) {
      const hash = hashIdentifier(apiKey, config.API_KEY_SECRET)
      const tier = tiers.get(hash)
      if (tier !== undefined) return { key: `api-key:${hash}`, tier }
    }
    const ip = resolveIp(getConnInfo(c).remote.address, () => c.req.header('x-forwarded-for'))
    return { key: `ip:${ip ?? 'unknown'}` }
  }

  const common = {
    key: (c: Context<AppEnv>) => c.var.client.key,
    shadow: config.SHADOW_MODE,
    legacyHeaders: config.LEGACY_HEADERS,
    rateLimitField: config.RATELIMIT_FIELD,
    retryJitterSeconds: config.RETRY_JITTER_SECONDS,
    clock,
    ...(rateLimitMetrics && { onEvent: rateLimitMetrics.recordRateLimit }),
  }
  /** The rate-limit middleware of a configured route (a route without policies passes). */
  const limited = (route: RouteId) =>
    rateLimit<AppEnv>({
      ...common,
      limiters: (c) => limits.forRoute(route, c.var.client.tier),
      cost: config.POLICIES.routes[route].cost,
      // Our failure is not the client's spending: a 5xx gives the units back.
      refundWhen: (c) => c.res.status >= 500,
    })

  const api = new Hono<AppEnv>()
  api.use(async (c, next) => {
    c.set('client', identify(c))
    await next()
  })

  api.get('/resource', limited('resource'), (c) =>
    c.json({ resource: 'ok', tier: c.var.client.tier ?? 'anonymous' })
  )

  api.post('/reports', limitBody(MAX_JSON_BYTES), limited('reports'), (c) =>
    c.json({ report: 'accepted', cost: config.POLICIES.routes.reports.cost }, 202)
  )

  api.get(
    '/search',
    validator('query', z.object({ q: z.string().max(200).default('') })),
    limited('search'),
    (c) => c.json({ query: c.req.valid('query').q, results: [] })
  )

  const uploads = limits.concurrency.uploads
  // The concurrency limit first: a request it refuses spends no rate-limit unit.
  const uploadSlots = uploads
    ? concurrencyLimit<AppEnv>({
        name: 'uploads-concurrency',
        limiter: uploads.limiter,
        fallback: uploads.fallback,
        onStoreFailure: limits.onStoreFailure,
        key: (c) => c.var.client.key,
        shadow: config.SHADOW_MODE,
        laterPolicies: (c) => rateLimitPolicyField(limits.forRoute('uploads', c.var.client.tier)),
        ...(rateLimitMetrics && { onEvent: rateLimitMetrics.recordConcurrency }),
      })
    : passThrough
  api.post('/uploads', uploadSlots, limited('uploads'), limitBody(MAX_UPLOAD_BYTES), async (c) => {
    // Reading the whole body is the "work" that holds the concurrency slot.
    const body = await readBody(c)
    return c.json({ uploaded: body.byteLength }, 201)
  })

  api.get(
    '/priority',
    loadShed<AppEnv>({
      shedder: limits.shedder,
      // A demo: production derives priority from the route or an authenticated caller.
      priority: (c) => (c.req.header('x-priority') === 'critical' ? 'critical' : 'normal'),
      ...(rateLimitMetrics && { onEvent: rateLimitMetrics.recordLoadShed }),
    }),
    limited('priority'),
    validator(
      'query',
      z.object({ work: z.coerce.number().int().min(0).max(MAX_WORK_MS).default(0) })
    ),
    async (c) => {
      const { work } = c.req.valid('query')
      if (work > 0) await new Promise((resolve) => setTimeout(resolve, work))
      return c.json({ served: c.req.header('x-priority') === 'critical' ? 'critical' : 'normal' })
    }
  )

  api.get(
    '/algorithms/:algorithm',
    validator('param', z.object({ algorithm: z.enum(ALGORITHMS) })),
    rateLimit<AppEnv>({
      ...common,
      // The validator above already refused any other value.
      limiters: (c) => limits.forAlgorithm[c.req.param('algorithm') as Algorithm],
    }),
    (c) => c.json({ algorithm: c.req.valid('param').algorithm })
  )

  const policyNames = [...limits.byPolicy.keys()] as [string, ...string[]]
  api.post(
    '/decisions',
    limitBody(MAX_JSON_BYTES),
    // Callers name any key they like: each caller's decisions are limited like any other route,
    // and the keys they create are bounded by the store (MEMORY_MAX_KEYS in memory, TTLs in Redis).
    limited('decisions'),
    validator(
      'json',
      z.strictObject({
        policy: z.enum(policyNames, { error: `must be one of ${policyNames.join(', ')}` }),
        key: z.string().regex(DECISION_KEY, {
          error: 'must be 1-128 characters of A-Z a-z 0-9 _ . : @ / + = -',
        }),
        cost: z.number().int().min(0).default(1),
      })
    ),
    async (c) => {
      const { policy: name, key, cost } = c.req.valid('json')
      const limiter = limits.byPolicy.get(name) as Limiter
      try {
        // A cost above the policy's capacity throws InvalidRequestError: 400 naming "cost".
        const decision = await limiter.consume(`${DECISION_KEY_PREFIX}${key}`, cost)
        return c.json(
          {
            allowed: decision.allowed,
            policy: {
              name,
              limit: decision.policy.limit,
              windowSeconds: toWindowSeconds(decision.policy.windowMs) ?? null,
            },
            remaining: decision.remaining,
            resetMs: decision.resetMs,
            retryAfterMs: decision.retryAfterMs,
            source: (decision as { source?: string }).source ?? 'store',
          },
          // A denial is an answer to the question asked: 429 means the caller itself is over
          // this route's limit.
          200
        )
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error
        // The same problem the middleware answers when the store is down and it fails closed.
        return problemResponse(
          503,
          'store_unavailable',
          'The rate limit store is unavailable and this service fails closed.',
          { headers: { 'Retry-After': '1' }, type: PROBLEM_TYPES.temporaryReducedCapacity }
        )
      }
    }
  )

  app.route('/api', api)
  return app
}
