import {
  createOpenApiApp,
  errorHandler,
  kitMiddleware,
  limitBody,
  notFoundHandler,
  serveApiDocs,
} from '@kit/http'
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { createHealth, createMetrics } from '@kit/http'
import type { MiddlewareHandler } from 'hono'
import { every } from 'hono/combine'
import type { Logger } from 'pino'
import type { RateLimiterAbstract } from 'rate-limiter-flexible'
import { deleteLinkAnalytics } from './analytics/analytics-queries.ts'
import { createStatsRoutes } from './routes/stats.routes.ts'
import type { ClickRecorder } from './analytics/click-recorder.ts'
import type { Config } from './config.ts'
import type { Db } from './database.ts'
import type { LinkCache } from './link-cache/link-cache.ts'
import { createLinkSchemas } from './routes/link-schemas.ts'
import type { LinkStore, RedirectEntry } from './links/link-store.ts'
import { createLinkRoutes } from './routes/links.routes.ts'
import { hostOf } from './target-url/target-url.ts'
import { apiKeyAuth } from './middleware/api-key.ts'
import { clientIp, limitCreations } from './middleware/creation-limit.ts'
import { createCallerIdentity } from './middleware/caller-identity.ts'
import { registerShortenerMetrics } from './metrics.ts'
import { describeOperationalRoutes } from './routes/operational-docs.ts'
import { createRedirectRoutes } from './routes/redirect.routes.ts'

/** JSON bodies over 16 KiB are refused with 413, with or without Content-Length. */
export const MAX_BODY_BYTES = 16 * 1024

export type AppSettings = Pick<
  Config,
  | 'PUBLIC_BASE_URL'
  | 'HOST'
  | 'ANONYMOUS_CREATE'
  | 'REDIRECT_STATUS'
  | 'REDIRECT_CACHE_MAX_AGE'
  | 'DENY_HOSTS'
  | 'IMPORT_MAX_BYTES'
  | 'ACCESS_LOG'
>

export type AppDeps = {
  config: AppSettings
  links: LinkStore
  cache: LinkCache<RedirectEntry>
  /** The database of the links and the click analytics. */
  db: Db
  /** Click analytics; absent when TRACK_CLICKS=false. */
  clicks?: ClickRecorder
  /** The anonymous creation budget; absent: no limit. */
  creationLimiter?: RateLimiterAbstract
  /** Protects the management API. */
  apiKey: string
  logger: Logger
  /** /healthz and /readyz; the same object goes to serveApp, which marks it draining. */
  health: ReturnType<typeof createHealth>
  /** Request metrics and GET /metrics (behind the API key); the app adds its own gauges. */
  metrics?: ReturnType<typeof createMetrics>
  now?: () => number
}

/**
 * The names and addresses of this service, refused as targets: the public host, and the address
 * it listens on when that is one address (every interface's addresses cannot be known here;
 * loopback and unspecified addresses are refused whatever the settings).
 */
function ownHosts({ PUBLIC_BASE_URL, HOST }: Pick<AppSettings, 'PUBLIC_BASE_URL' | 'HOST'>) {
  const listening = HOST.toLowerCase()
  return listening === '0.0.0.0' || listening === '::'
    ? [hostOf(PUBLIC_BASE_URL)]
    : [hostOf(PUBLIC_BASE_URL), listening]
}

/**
 * Builds the URL shortener. Opens nothing and listens nowhere: main.ts (or a test) passes in real
 * dependencies and serves the result.
 *
 * Routes, in matching order: /healthz, /readyz, /metrics, /api/links/:code/stats/*,
 * /api/links/*, then /:code (redirect) and /:code+ (preview).
 *
 * @example
 * ```ts
 * const app = createApp({ config, links, cache, db, clicks, apiKey, logger, health })
 * const res = await app.request('/api/links', { method: 'POST', body: JSON.stringify({ url }) })
 * ```
 */
export function createApp({
  config,
  links,
  cache,
  db,
  clicks,
  creationLimiter,
  apiKey,
  logger,
  health,
  metrics,
  now = Date.now,
}: AppDeps): OpenAPIHono {
  const app = createOpenApiApp()
  // One stack for every route, the redirect included: request id, secure headers, access log,
  // then the latency histogram. The same under app.request() and on a socket.
  app.use(
    kitMiddleware({
      logger,
      accessLog: config.ACCESS_LOG === 'off' ? false : config.ACCESS_LOG,
    })
  )
  if (metrics) app.use(metrics.middleware)
  app.onError(errorHandler({ logger }))
  app.notFound(notFoundHandler)

  const requireApiKey = apiKeyAuth({ apiKey })
  app.route('/', health.routes)
  if (metrics) app.get('/metrics', requireApiKey, metrics.handler)
  describeOperationalRoutes(app, { metrics: metrics !== undefined })
  // JSON bodies are small; a CSV import has its own limit, checked as its body is spooled.
  const jsonBodyLimit = limitBody(MAX_BODY_BYTES)
  const bodyLimitExceptImport: MiddlewareHandler = (c, next) =>
    c.req.method === 'POST' && c.req.path === '/api/links/import' ? next() : jsonBodyLimit(c, next)
  app.use('/api/*', bodyLimitExceptImport)

  app.route(
    '/',
    createStatsRoutes({
      db,
      requireApiKey,
      recorder: clicks ?? { flush: () => Promise.resolve({ clicks: 0, rows: 0 }) },
      // Expired and used-up links keep their stats: a finished campaign's numbers are the
      // point of it. Only a deleted link's analytics are gone (deleted with it).
      findLinkId: (code) => links.get(code)?.id,
      clock: now,
    })
  )

  const identify = apiKeyAuth({ apiKey, required: !config.ANONYMOUS_CREATE })
  const createGuard = creationLimiter
    ? every(
        identify,
        limitCreations({ limiter: creationLimiter, skip: (c) => c.get('authenticated') === true })
      )
    : identify
  app.route(
    '/api/links',
    createLinkRoutes({
      links,
      cache,
      schemas: createLinkSchemas({
        policy: { ownHosts: ownHosts(config), denyHosts: config.DENY_HOSTS },
        now,
      }),
      publicBaseUrl: config.PUBLIC_BASE_URL,
      importMaxBytes: config.IMPORT_MAX_BYTES,
      requireApiKey,
      createGuard,
      callerIdentity: createCallerIdentity({ secret: apiKey, clientIp }),
      onDelete: (link) => deleteLinkAnalytics(db, link.id),
      now,
    })
  )

  // Before the redirect: /docs and /openapi.json must not be taken for codes.
  serveApiDocs(app, {
    title: 'URL shortener',
    version: '1.0.0',
    description:
      'Short links with a read-through cache and click analytics. Management routes take the API key as `X-API-Key` or `Authorization: Bearer`.',
  })

  const redirects = createRedirectRoutes({
    cache,
    links,
    clicks,
    publicBaseUrl: config.PUBLIC_BASE_URL,
    defaultStatus: config.REDIRECT_STATUS,
    permanentMaxAge: config.REDIRECT_CACHE_MAX_AGE,
    now,
  })
  app.route('/', redirects.routes)

  if (metrics) {
    registerShortenerMetrics(metrics.registry, {
      cacheStats: () => cache.stats(),
      pendingClicks: clicks && (() => clicks.pending()),
      collisionRetries: () => links.collisionRetries,
      redirects: () => redirects.counters,
    })
  }
  return app
}
