/**
 * The demo's API (/api/*): a few routes, each protected by its configured policies, declared with
 * their schemas so that /openapi.json describes them. Wiring only: the limiting itself is the
 * pattern folders' (src/middleware/, src/limiter/, src/concurrency/, src/load-shedding/).
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi'
import { HttpError, jsonBody, jsonResponse, limitBody, PROBLEM_JSON, problemBody } from '@kit/http'
import type { Context, MiddlewareHandler } from 'hono'
import type { RouteId } from '../config.ts'
import {
  InvalidRequestError,
  StoreUnavailableError,
  type Algorithm,
  type Limiter,
} from '../limiter/index.ts'
import { concurrencyLimit } from '../middleware/concurrency-limit.ts'
import { loadShed } from '../middleware/load-shed.ts'
import { PROBLEM_TYPES } from '../middleware/problem-details.ts'
import { rateLimit, rateLimitPolicyField } from '../middleware/rate-limit.ts'
import { toWindowSeconds } from '../middleware/ratelimit-headers.ts'
import type { AppDeps, AppEnv } from '../app.ts'
import {
  AlgorithmOk,
  AlgorithmParams,
  Decision,
  decisionRequest,
  limitedJson,
  PriorityQuery,
  refusals,
  ReportAccepted,
  Resource,
  SearchQuery,
  SearchResult,
  Served,
  Upload,
} from './schemas.ts'

/** Bodies of the demo's POST routes: a report request is small, an upload up to 1 MiB. */
export const MAX_JSON_BYTES = 16 * 1024
export const MAX_UPLOAD_BYTES = 1024 * 1024
/** POST /api/decisions keys are namespaced so they never meet the routes' own client keys. */
const DECISION_KEY_PREFIX = 'decision:'

/**
 * Registers the /api routes on `app`. Each route lists its middlewares in the order they run
 * (the rate limit before validation: a malformed request costs the server too, so it counts).
 *
 * | route                             | protection                                              |
 * | --------------------------------- | ------------------------------------------------------- |
 * | GET  /api/resource                | `routes.resource`; a known API key's tier swaps them    |
 * | POST /api/reports                 | `routes.reports`, each request costs `cost` (5) units   |
 * | GET  /api/search                  | two policies at once: a per-second burst, a per-minute  |
 * | POST /api/uploads                 | at most `concurrency` (2) in flight + `routes.uploads`  |
 * | GET  /api/priority                | the load shedder (`X-Priority: critical` uses reserve)  |
 * | GET  /api/algorithms/{algorithm}  | one policy per algorithm (`routes.algorithms` numbers)  |
 * | POST /api/decisions               | the limiter as a service; `routes.decisions` per caller |
 */
export function registerApiRoutes(
  app: OpenAPIHono<AppEnv>,
  { config, limits, rateLimitMetrics, clock = Date.now }: AppDeps
): void {
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

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/resource',
      summary: 'A resource under the default policy; a known API key gets its tier',
      middleware: [limited('resource')],
      responses: { 200: limitedJson(Resource, 'The resource'), ...refusals() },
    }),
    (c) => c.json({ resource: 'ok' as const, tier: c.var.client.tier ?? 'anonymous' }, 200)
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/reports',
      summary: 'An expensive request: each costs several units',
      middleware: [limitBody(MAX_JSON_BYTES), limited('reports')],
      responses: { 202: limitedJson(ReportAccepted, 'Report accepted'), ...refusals(413) },
    }),
    (c) => c.json({ report: 'accepted' as const, cost: config.POLICIES.routes.reports.cost }, 202)
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/search',
      summary: 'Two policies at once: a per-second burst and a per-minute quota',
      middleware: [limited('search')],
      request: { query: SearchQuery },
      responses: { 200: limitedJson(SearchResult, 'Search results'), ...refusals(400) },
    }),
    (c) => c.json({ query: c.req.valid('query').q, results: [] }, 200)
  )

  const uploads = limits.concurrency.uploads
  // The concurrency limit first: a request it refuses spends no rate-limit unit.
  const uploadSlots: MiddlewareHandler<AppEnv> = uploads
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
    : (_c, next) => next()
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/uploads',
      summary: 'At most a few uploads of one client in flight, and a quota of them',
      middleware: [uploadSlots, limited('uploads'), limitBody(MAX_UPLOAD_BYTES)],
      request: {
        body: {
          required: true,
          content: {
            'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
          },
        },
      },
      responses: { 201: limitedJson(Upload, 'Uploaded'), ...refusals(400, 413) },
    }),
    async (c) => {
      // Reading the whole body is the "work" that holds the concurrency slot.
      const body = await readBody(c)
      return c.json({ uploaded: body.byteLength }, 201)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/priority',
      summary: 'Behind the load shedder: X-Priority: critical may use the reserved share',
      middleware: [
        loadShed<AppEnv>({
          shedder: limits.shedder,
          // A demo: production derives priority from the route or an authenticated caller.
          priority: (c) => (c.req.header('x-priority') === 'critical' ? 'critical' : 'normal'),
          ...(rateLimitMetrics && { onEvent: rateLimitMetrics.recordLoadShed }),
        }),
        limited('priority'),
      ],
      request: { query: PriorityQuery },
      responses: { 200: jsonResponse(Served, 'Served'), ...refusals(400) },
    }),
    async (c) => {
      const { work } = c.req.valid('query')
      if (work > 0) await new Promise((resolve) => setTimeout(resolve, work))
      const served = c.req.header('x-priority') === 'critical' ? 'critical' : 'normal'
      return c.json({ served } as const, 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/algorithms/{algorithm}',
      summary: 'One policy per algorithm, for benchmarks and load tests',
      middleware: [
        rateLimit<AppEnv>({
          ...common,
          // The validator, after this middleware, refuses an unknown algorithm: no limit here.
          limiters: (c) => limits.forAlgorithm[c.req.param('algorithm') as Algorithm] ?? [],
        }),
      ],
      request: { params: AlgorithmParams },
      responses: { 200: limitedJson(AlgorithmOk, 'Allowed'), ...refusals(400) },
    }),
    (c) => c.json({ algorithm: c.req.valid('param').algorithm }, 200)
  )

  const policyNames = [...limits.byPolicy.keys()] as [string, ...string[]]
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/decisions',
      summary: 'The limiter as a service: decide { policy, key, cost }',
      description:
        'Every decision answers 200 (`allowed` says which); 429 means the caller is over this ' +
        "route's own limit. Keys are namespaced apart from the routes' client keys.",
      // Callers name any key they like: each caller's decisions are limited like any other route,
      // and the keys they create are bounded by the store (MEMORY_MAX_KEYS in memory, TTLs in Redis).
      middleware: [limitBody(MAX_JSON_BYTES), limited('decisions')],
      request: { body: jsonBody(decisionRequest(policyNames)) },
      responses: { 200: limitedJson(Decision, 'The decision'), ...refusals(400, 413) },
    }),
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
            source: (decision as { source?: 'store' }).source ?? 'store',
          },
          200
        )
      } catch (error) {
        if (error instanceof InvalidRequestError) throw error
        if (!(error instanceof StoreUnavailableError)) throw error
        // The same problem the middleware answers when the store is down and it fails closed.
        const problem = problemBody(
          503,
          'store_unavailable',
          'The rate limit store is unavailable and this service fails closed.',
          { type: PROBLEM_TYPES.temporaryReducedCapacity }
        )
        return c.json(problem, 503, { 'Content-Type': PROBLEM_JSON, 'Retry-After': '1' })
      }
    }
  )
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
