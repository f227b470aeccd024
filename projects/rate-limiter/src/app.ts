import { getConnInfo } from '@hono/node-server/conninfo'
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi'
import {
  createOpenApiApp,
  errorHandler,
  jsonResponse,
  kitMiddleware,
  notFoundHandler,
  problemResponse,
  serveApiDocs,
  type createHealth,
  type createMetrics,
} from '@kit/http'
import type { Context, MiddlewareHandler } from 'hono'
import type { Logger } from 'pino'
import { createClientIpResolver, hashIdentifier } from './client-identity/client-key.ts'
import type { Config } from './config.ts'
import { InvalidRequestError } from './limiter/index.ts'
import type { Limits } from './limits.ts'
import type { RateLimitMetrics } from './metrics.ts'
import { registerApiRoutes } from './routes/api-routes.ts'
import { Health, Readiness } from './routes/schemas.ts'

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

/** Who is calling: a key for the limiters and, for a known API key, its tier. */
export type Client = { key: string; tier?: string }
export type AppEnv = { Variables: { client: Client } }

/**
 * Builds the demo service: the API of src/routes/api-routes.ts, health and metrics, and its
 * OpenAPI document (/openapi.json, /docs). Opens nothing and listens nowhere: main.ts (or a test)
 * passes in real dependencies and serves the result.
 *
 * @example
 * ```ts
 * const app = createApp({ config, limits, logger, health, storeUp: () => true })
 * const res = await app.request('/api/resource')
 * ```
 */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const { config, limits, logger, health, storeUp, metrics } = deps
  const app = createOpenApiApp<AppEnv>()
  app.use(kitMiddleware({ logger }))
  if (metrics) app.use(metrics.middleware)
  const kitErrors = errorHandler({ logger })
  app.onError((error, c) => {
    // A limiter refusing its input (a cost above the policy's capacity): the caller's mistake.
    if (error instanceof InvalidRequestError) {
      const path = error.field ?? 'request'
      return problemResponse(400, 'invalid_rate_limit_request', error.message, {
        errors: [{ path, message: error.message }],
      })
    }
    return kitErrors(error, c)
  })
  app.notFound(notFoundHandler)

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

  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: never touches Redis',
      responses: { 200: jsonResponse(Health, 'Alive') },
    }),
    (c) => c.json({ status: 'ok' as const }, 200)
  )
  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness, and what decides right now: the store, or the outage policy',
      responses: {
        200: jsonResponse(Readiness, 'Ready, or degraded (the outage policy decides)'),
        503: jsonResponse(Readiness, 'Unavailable (Redis down and failing closed) or draining'),
      },
    }),
    async (c) => {
      const report = await health.report()
      const up = storeUp()
      const body = {
        ...report,
        store: {
          backend: limits.backend,
          state: up ? ('up' as const) : ('down' as const),
          onStoreFailure: limits.onStoreFailure,
          // What a request gets right now: the store's decision, or the outage policy's.
          deciding: up || limits.backend === 'memory' ? limits.backend : limits.onStoreFailure,
        },
      }
      c.header('cache-control', 'no-store')
      return report.status === 'unavailable' || report.status === 'draining'
        ? c.json(body, 503)
        : c.json(body, 200)
    }
  )
  if (metrics) {
    app.openapi(
      createRoute({
        method: 'get',
        path: '/metrics',
        summary: 'Prometheus metrics: requests, and the limiters by policy and backend',
        responses: {
          200: {
            description: 'The text exposition format',
            content: { 'text/plain': { schema: z.string() } },
          },
        },
      }),
      async (c) =>
        c.text(await metrics.registry.metrics(), 200, {
          'Content-Type': metrics.registry.contentType,
        })
    )
  }

  const identifyClient: MiddlewareHandler<AppEnv> = async (c, next) => {
    c.set('client', identify(c))
    await next()
  }
  app.use('/api/*', identifyClient)
  registerApiRoutes(app, deps)

  serveApiDocs(app, {
    title: 'Rate limiter',
    version: '1.0.0',
    description:
      'A demo service whose routes are protected by configured rate limits. Every answer of a ' +
      'limited route carries the RateLimit-Policy and RateLimit fields of ' +
      'draft-ietf-httpapi-ratelimit-headers-11; refusals are RFC 9457 problem details.',
  })
  return app

  /** The client key: a known API key's hash (with its tier), else the client's address. */
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
}
