import { createRoute, z } from '@hono/zod-openapi'
import { createOpenApiApp, HttpError, jsonResponse, problemResponses } from '@kit/http'
import type { MiddlewareHandler } from 'hono'
import {
  breakdown,
  bucketCount,
  INTERVALS,
  linkTotals,
  MAX_BUCKETS,
  timeSeries,
} from '../analytics/analytics-queries.ts'
import type { Counts, Interval } from '../analytics/analytics-queries.ts'
import { DIMENSIONS } from '../analytics/click-dimensions.ts'
import type { AnalyticsDb, ClickRecorder } from '../analytics/click-recorder.ts'

export type StatsRoutesDeps = {
  db: AnalyticsDb
  /** Refuses requests without a valid API key. */
  requireApiKey: MiddlewareHandler
  /** Flushed before each answer, so a stats call sees every click recorded before it. */
  recorder: Pick<ClickRecorder, 'flush'>
  /** The link id of a code, or undefined for unknown, deleted or expired codes (answered 404). */
  findLinkId: (code: string) => number | undefined
  clock?: () => number
}

const DAY_MS = INTERVALS['1d']
const INTERVAL_NAMES = Object.keys(INTERVALS) as [Interval, ...Interval[]]
const ISO_8601 = z.union([z.iso.date(), z.iso.datetime({ offset: true })])

/** A query-string instant: epoch ms or an ISO 8601 date / date-time (UTC without an offset). */
const instant = z
  .string()
  .trim()
  .transform((value, ctx) => {
    if (/^\d{1,15}$/.test(value)) return Number(value)
    if (ISO_8601.safeParse(value).success) {
      const ms = Date.parse(value)
      if (ms >= 0) return ms
    }
    ctx.addIssue({
      code: 'custom',
      message: 'must be epoch milliseconds or an ISO 8601 date (2026-03-01, 2026-03-01T10:00:00Z)',
    })
    return z.NEVER
  })

/**
 * Click statistics of one link, behind the API key, declared with their zod schemas:
 *
 * - `GET /api/links/{code}/stats` → `{ code, total, humans, bots, firstClickAt, lastClickAt }`
 * - `GET …/stats/timeseries?from&to&interval` → buckets over `[from, to)`, empty ones included; `from`
 *   and `to` are epoch ms or ISO 8601, default the last 24 hours up to now (the current bucket
 *   included); `interval` is one of 1m, 5m, 15m, 1h (default), 6h, 1d; at most 1,000 buckets.
 * - `GET …/stats/breakdown/{dimension}?from&to&limit` → `referrer` (host), `browser`, `os` or `bot`,
 *   largest first, whole UTC days, default all time; `limit` 1-100 (default 10) plus `other`.
 *
 * Times in answers are ISO 8601 strings. Unknown and deleted codes answer 404 (expired and
 * used-up links keep their stats), bad parameters 400 naming the field.
 *
 * @example
 * ```ts
 * app.route('/', createStatsRoutes({ db, requireApiKey, recorder, findLinkId }))
 * ```
 */
export function createStatsRoutes({
  db,
  requireApiKey,
  recorder,
  findLinkId,
  clock = Date.now,
}: StatsRoutesDeps) {
  const timeSeriesQuery = z
    .strictObject({
      from: instant.optional(),
      to: instant.optional(),
      interval: z.enum(INTERVAL_NAMES).default('1h'),
    })
    // Default `to` is now, inclusive (+1: ranges are half-open), so a click just made is counted.
    .transform(({ from, to = clock() + 1, interval }, ctx) => {
      const range = { from: from ?? to - 1 - DAY_MS, to, interval }
      if (range.to <= range.from) {
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after `from`' })
        return z.NEVER
      }
      const buckets = bucketCount(range.from, range.to, interval)
      if (buckets > MAX_BUCKETS) {
        ctx.addIssue({
          code: 'custom',
          path: ['interval'],
          message: `gives ${buckets} buckets over this range, at most ${MAX_BUCKETS}: use a larger interval or a shorter range`,
        })
        return z.NEVER
      }
      return range
    })

  const breakdownQuery = z
    .strictObject({
      from: instant.optional(),
      to: instant.optional(),
      limit: z.coerce.number().int().min(1).max(100).default(10),
    })
    .transform(({ from = 0, to = clock() + 1, limit }, ctx) => {
      if (to <= from) {
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after `from`' })
        return z.NEVER
      }
      return { from, to, limit }
    })

  const app = createOpenApiApp<{ Variables: { code: string; linkId: number } }>()

  const resolveLink: MiddlewareHandler<{ Variables: { code: string; linkId: number } }> =
    async function resolveLink(c, next) {
      const code = c.req.param('code') ?? ''
      const linkId = findLinkId(code)
      if (linkId === undefined) throw new HttpError(404, 'not_found', 'No link with this code')
      c.set('code', code)
      c.set('linkId', linkId)
      try {
        // Read-your-clicks: buffered clicks are written before the counts are read.
        await recorder.flush()
      } catch (error) {
        throw new HttpError(
          503,
          'analytics_unavailable',
          'Click counts cannot be written right now',
          { headers: { 'Retry-After': '1' }, cause: error }
        )
      }
      await next()
    }

  const keyed = {
    middleware: [requireApiKey, resolveLink],
    security: [{ apiKey: [] }, { bearer: [] }] as Record<string, string[]>[],
  }
  const params = z.object({
    code: z.string().openapi({ param: { name: 'code', in: 'path' }, example: 'launch' }),
  })

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/links/{code}/stats',
      summary: "A link's all-time click counts",
      ...keyed,
      request: { params, query: z.strictObject({}) },
      responses: {
        200: jsonResponse(StatsSummarySchema, 'Totals, first and last click'),
        ...problemResponses(400, 401, 404, 503),
      },
    }),
    (c) => {
      const totals = linkTotals(db, c.var.linkId)
      return c.json(
        {
          code: c.var.code,
          ...counts(totals),
          firstClickAt: isoOrNull(totals.firstClickAt),
          lastClickAt: isoOrNull(totals.lastClickAt),
        },
        200
      )
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/links/{code}/stats/timeseries',
      summary: "A link's clicks per interval, empty buckets included",
      ...keyed,
      request: { params, query: timeSeriesQuery },
      responses: {
        200: jsonResponse(TimeSeriesSchema, 'Every bucket of the range, oldest first'),
        ...problemResponses(400, 401, 404, 503),
      },
    }),
    (c) => {
      const series = timeSeries(db, c.var.linkId, c.req.valid('query'))
      return c.json(
        {
          code: c.var.code,
          interval: series.interval,
          from: iso(series.from),
          to: iso(series.to),
          ...counts(series),
          buckets: series.buckets.map((bucket) => ({
            start: iso(bucket.start),
            ...counts(bucket),
          })),
        },
        200
      )
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/links/{code}/stats/breakdown/{dimension}',
      summary: "A link's clicks by referrer host, browser, OS or bot flag",
      ...keyed,
      request: {
        params: params.extend({
          dimension: z
            .enum(DIMENSIONS)
            .openapi({ param: { name: 'dimension', in: 'path' }, example: 'referrer' }),
        }),
        query: breakdownQuery,
      },
      responses: {
        200: jsonResponse(BreakdownSchema, 'The largest values, and the rest summed'),
        ...problemResponses(400, 401, 404, 503),
      },
    }),
    (c) => {
      const { dimension } = c.req.valid('param')
      const result = breakdown(db, c.var.linkId, dimension, c.req.valid('query'))
      return c.json(
        {
          code: c.var.code,
          dimension,
          from: iso(result.from),
          to: iso(result.to),
          values: result.values.map((row) => ({ value: row.value, ...counts(row) })),
          other: counts(result.other),
        },
        200
      )
    }
  )

  return app
}

const CountsSchema = z.object({
  total: z.number().int(),
  humans: z.number().int(),
  bots: z.number().int(),
})

const StatsSummarySchema = CountsSchema.extend({
  code: z.string(),
  firstClickAt: z.string().nullable(),
  lastClickAt: z.string().nullable(),
}).openapi('StatsSummary')

const TimeSeriesSchema = CountsSchema.extend({
  code: z.string(),
  interval: z.enum(INTERVAL_NAMES),
  from: z.string(),
  to: z.string(),
  buckets: z.array(CountsSchema.extend({ start: z.string() })),
}).openapi('TimeSeries')

const BreakdownSchema = z
  .object({
    code: z.string(),
    dimension: z.enum(DIMENSIONS),
    from: z.string(),
    to: z.string(),
    values: z.array(CountsSchema.extend({ value: z.string() })),
    other: CountsSchema,
  })
  .openapi('Breakdown')

/** Always in the same key order, whatever object the counts come from. */
function counts({ total, humans, bots }: Counts): Counts {
  return { total, humans, bots }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms)
}
