import { HttpError, validator } from '@kit/http'
import { Hono } from 'hono'
import { z } from 'zod'
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

export type AnalyticsRoutesDeps = {
  db: AnalyticsDb
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
 * Click statistics of one link, for the app to mount behind its API key at a path with `:code`:
 *
 * - `GET /` → `{ code, total, humans, bots, firstClickAt, lastClickAt }` (all time)
 * - `GET /timeseries?from&to&interval` → buckets over `[from, to)`, empty ones included; `from`
 *   and `to` are epoch ms or ISO 8601, default the last 24 hours up to now (the current bucket
 *   included); `interval` is one of 1m, 5m, 15m, 1h (default), 6h, 1d; at most 1,000 buckets.
 * - `GET /breakdown/:dimension?from&to&limit` → `referrer` (host), `browser`, `os` or `bot`,
 *   largest first, whole UTC days, default all time; `limit` 1-100 (default 10) plus `other`.
 *
 * Times in answers are ISO 8601 strings. Unknown codes answer 404, bad parameters 400 naming
 * the field.
 *
 * @example
 * ```ts
 * app.use('/api/*', requireApiKey)
 * app.route('/api/links/:code/stats', createAnalyticsRoutes({ db, recorder, findLinkId }))
 * ```
 */
export function createAnalyticsRoutes({
  db,
  recorder,
  findLinkId,
  clock = Date.now,
}: AnalyticsRoutesDeps) {
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

  const app = new Hono<{ Variables: { code: string; linkId: number } }>()

  app.use(async function resolveLink(c, next) {
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
        {
          headers: { 'Retry-After': '1' },
          cause: error,
        }
      )
    }
    await next()
  })

  return app
    .get('/', validator('query', z.strictObject({})), (c) => {
      const totals = linkTotals(db, c.var.linkId)
      return c.json({
        code: c.var.code,
        ...counts(totals),
        firstClickAt: isoOrNull(totals.firstClickAt),
        lastClickAt: isoOrNull(totals.lastClickAt),
      })
    })
    .get('/timeseries', validator('query', timeSeriesQuery), (c) => {
      const series = timeSeries(db, c.var.linkId, c.req.valid('query'))
      return c.json({
        code: c.var.code,
        interval: series.interval,
        from: iso(series.from),
        to: iso(series.to),
        ...counts(series),
        buckets: series.buckets.map((bucket) => ({ start: iso(bucket.start), ...counts(bucket) })),
      })
    })
    .get(
      '/breakdown/:dimension',
      validator('param', z.object({ dimension: z.enum(DIMENSIONS) })),
      validator('query', breakdownQuery),
      (c) => {
        const { dimension } = c.req.valid('param')
        const result = breakdown(db, c.var.linkId, dimension, c.req.valid('query'))
        return c.json({
          code: c.var.code,
          dimension,
          from: iso(result.from),
          to: iso(result.to),
          values: result.values.map((row) => ({ value: row.value, ...counts(row) })),
          other: counts(result.other),
        })
      }
    )
}

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
