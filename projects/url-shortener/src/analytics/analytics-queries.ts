import { and, desc, eq, gte, lt, sql } from 'drizzle-orm'
import type { AnyColumn } from 'drizzle-orm'
import { clickDimensions, clickMinutes, clickTotals } from './analytics.schema.ts'
import type { Dimension } from './click-dimensions.ts'
import type { AnalyticsDb } from './click-recorder.ts'

/**
 * The time-series intervals, in ms. Every one is a whole number of minutes (the storage grain)
 * and divides a day, so buckets are aligned on UTC boundaries.
 */
export const INTERVALS = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '6h': 21_600_000,
  '1d': 86_400_000,
} as const
export type Interval = keyof typeof INTERVALS

/** A series longer than this is refused: pick a larger interval or a shorter range. */
export const MAX_BUCKETS = 1_000
const DAY_MS = INTERVALS['1d']

export type Counts = { total: number; humans: number; bots: number }

/** Thrown for a range the queries refuse (empty, reversed, or too many buckets). */
export class AnalyticsRangeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}

/** The range `[from, to)` widened outward to whole steps, as the queries read it. */
export function alignRange(from: number, to: number, stepMs: number): { from: number; to: number } {
  return { from: Math.floor(from / stepMs) * stepMs, to: Math.ceil(to / stepMs) * stepMs }
}

/** How many buckets `timeSeries` would return for this range and interval. */
export function bucketCount(from: number, to: number, interval: Interval): number {
  const range = alignRange(from, to, INTERVALS[interval])
  return (range.to - range.from) / INTERVALS[interval]
}

/**
 * All-time counts of one link, from its running total (one row, whatever its age).
 * Unflushed clicks are not included: flush the recorder first for read-your-clicks.
 */
export function linkTotals(
  db: AnalyticsDb,
  linkId: number
): Counts & { firstClickAt: number | null; lastClickAt: number | null } {
  const row = db.select().from(clickTotals).where(eq(clickTotals.linkId, linkId)).get()
  if (row === undefined) {
    return { total: 0, humans: 0, bots: 0, firstClickAt: null, lastClickAt: null }
  }
  return {
    total: row.total,
    humans: row.humans,
    bots: row.bots,
    firstClickAt: row.firstClickAt,
    lastClickAt: row.lastClickAt,
  }
}

export type TimeSeries = Counts & {
  interval: Interval
  /** Start of the first bucket: `from` rounded down to the interval (UTC). */
  from: number
  /** End of the last bucket (exclusive): `to` rounded up to the interval. */
  to: number
  /** Every bucket of the range, empty ones included (zeros), oldest first. */
  buckets: (Counts & { start: number })[]
}

/**
 * Clicks of one link per interval over `[from, to)` (epoch ms), widened to whole buckets.
 * Empty buckets are returned as zeros, so a chart needs no gap filling and the length is
 * predictable (at most `MAX_BUCKETS`, else `AnalyticsRangeError`).
 *
 * @example
 * ```ts
 * const from = Date.parse('2026-01-01')
 * timeSeries(db, 42, { from, to: from + 86_400_000, interval: '1h' })
 * // { interval, from, to, total, humans, bots, buckets: [{ start, total, humans, bots } x 24] }
 * ```
 */
export function timeSeries(
  db: AnalyticsDb,
  linkId: number,
  options: { from: number; to: number; interval: Interval }
): TimeSeries {
  const { interval } = options
  const step = INTERVALS[interval]
  const { from, to } = checkedRange(options.from, options.to, step)
  const count = (to - from) / step
  if (count > MAX_BUCKETS) {
    throw new AnalyticsRangeError(`${count} buckets; at most ${MAX_BUCKETS}`)
  }

  // Groups the minute rows into buckets in SQL; only non-empty buckets come back. The cast is
  // needed: better-sqlite3 binds JS numbers as REAL, which would make the division fractional.
  const bucket = sql<number>`cast((${clickMinutes.minuteStart} - ${from}) / ${step} as integer)`
  const rows = db
    .select({ bucket, humans: sumOf(clickMinutes.humans), bots: sumOf(clickMinutes.bots) })
    .from(clickMinutes)
    .where(
      and(
        eq(clickMinutes.linkId, linkId),
        gte(clickMinutes.minuteStart, from),
        lt(clickMinutes.minuteStart, to)
      )
    )
    .groupBy(bucket)
    .all()

  const buckets = Array.from({ length: count }, (_, i) => ({
    start: from + i * step,
    total: 0,
    humans: 0,
    bots: 0,
  }))
  const totals: Counts = { total: 0, humans: 0, bots: 0 }
  for (const row of rows) {
    const target = buckets[row.bucket]
    if (target === undefined) continue // unreachable: the WHERE bounds the index
    target.humans = row.humans
    target.bots = row.bots
    target.total = row.humans + row.bots
    totals.humans += row.humans
    totals.bots += row.bots
  }
  totals.total = totals.humans + totals.bots
  return { interval, from, to, ...totals, buckets }
}

export type Breakdown = {
  dimension: Dimension
  /** Start of the first UTC day read: breakdowns are stored per day. */
  from: number
  /** End of the last UTC day read (exclusive). */
  to: number
  /** The `limit` largest values, by total then value. */
  values: (Counts & { value: string })[]
  /** Everything beyond `limit`, so values + other = the range's total. */
  other: Counts
}

/**
 * Clicks of one link by referrer host, browser family, OS family, or bot flag over `[from, to)`,
 * widened to whole UTC days (the grain `click_dimensions` is stored at; `bot` reads the minute
 * rows, over the same widened range).
 */
export function breakdown(
  db: AnalyticsDb,
  linkId: number,
  dimension: Dimension,
  options: { from: number; to: number; limit?: number }
): Breakdown {
  const { limit = 10 } = options
  const { from, to } = checkedRange(options.from, options.to, DAY_MS)

  if (dimension === 'bot') {
    const sums = db
      .select({ humans: sumOf(clickMinutes.humans), bots: sumOf(clickMinutes.bots) })
      .from(clickMinutes)
      .where(
        and(
          eq(clickMinutes.linkId, linkId),
          gte(clickMinutes.minuteStart, from),
          lt(clickMinutes.minuteStart, to)
        )
      )
      .get() ?? { humans: 0, bots: 0 }
    const values = [
      { value: 'human', total: sums.humans, humans: sums.humans, bots: 0 },
      { value: 'bot', total: sums.bots, humans: 0, bots: sums.bots },
    ]
    return {
      dimension,
      from,
      to,
      values: values.slice(0, limit),
      other: sumCounts(values.slice(limit)),
    }
  }

  const inRange = and(
    eq(clickDimensions.linkId, linkId),
    eq(clickDimensions.dimension, dimension),
    gte(clickDimensions.dayStart, from),
    lt(clickDimensions.dayStart, to)
  )
  const humans = sumOf(clickDimensions.humans)
  const bots = sumOf(clickDimensions.bots)
  const total = sql<number>`sum(${clickDimensions.humans} + ${clickDimensions.bots})`.mapWith(
    Number
  )
  const values = db
    .select({ value: clickDimensions.value, total, humans, bots })
    .from(clickDimensions)
    .where(inRange)
    .groupBy(clickDimensions.value)
    .orderBy(desc(total), clickDimensions.value)
    .limit(limit)
    .all()
  const all = db.select({ humans, bots }).from(clickDimensions).where(inRange).get() ?? {
    humans: 0,
    bots: 0,
  }
  const shown = sumCounts(values)
  const other = { humans: all.humans - shown.humans, bots: all.bots - shown.bots, total: 0 }
  other.total = other.humans + other.bots
  return { dimension, from, to, values, other }
}

/** Ids of the `n` most-clicked links, most clicked first (for warming a cache at start). */
export function topLinks(db: AnalyticsDb, n: number): number[] {
  return db
    .select({ linkId: clickTotals.linkId })
    .from(clickTotals)
    .orderBy(desc(clickTotals.total))
    .limit(n)
    .all()
    .map((row) => row.linkId)
}

/**
 * Deletes every analytics row of a link (call it with the link's own delete). Clicks of that link
 * still buffered in a recorder are written by its next flush as a few orphan rows; they can never
 * reach another link because `links.id` is AUTOINCREMENT (ids are not reused).
 */
export function deleteLinkAnalytics(db: AnalyticsDb, linkId: number): void {
  db.transaction((tx) => {
    tx.delete(clickMinutes).where(eq(clickMinutes.linkId, linkId)).run()
    tx.delete(clickDimensions).where(eq(clickDimensions.linkId, linkId)).run()
    tx.delete(clickTotals).where(eq(clickTotals.linkId, linkId)).run()
  })
}

function checkedRange(from: number, to: number, step: number): { from: number; to: number } {
  if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) {
    throw new AnalyticsRangeError('`to` must be after `from`')
  }
  return alignRange(from, to, step)
}

function sumOf(column: AnyColumn) {
  return sql<number>`coalesce(sum(${column}), 0)`.mapWith(Number)
}

function sumCounts(rows: Counts[]): Counts {
  const sums = { total: 0, humans: 0, bots: 0 }
  for (const row of rows) {
    sums.total += row.total
    sums.humans += row.humans
    sums.bots += row.bots
  }
  return sums
}
