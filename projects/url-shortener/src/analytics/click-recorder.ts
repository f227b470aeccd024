import { sql } from 'drizzle-orm'
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core'
import { clickDimensions, clickMinutes, clickTotals } from './analytics.schema.ts'
import { createUserAgentClassifier, referrerHost } from './click-dimensions.ts'
import type { StoredDimension, UserAgentClassifier } from './click-dimensions.ts'

/**
 * Any synchronous drizzle SQLite database (better-sqlite3) whose file has the analytics tables.
 * The schema parameter is `any` so a db opened with the app's full schema is accepted.
 */
export type AnalyticsDb = BaseSQLiteDatabase<'sync', unknown, any>

/** One redirect, as the hot path knows it: no parsing, no validation, just the raw headers. */
export type Click = {
  linkId: number
  /** Epoch milliseconds. */
  at: number
  referrer: string | null
  userAgent: string | null
}

/** The subset of a pino logger the recorder uses. */
export type RecorderLogger = {
  error(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
}

/** What one successful flush wrote. */
export type FlushResult = {
  /** Clicks written (including clicks kept from earlier failed flushes). */
  clicks: number
  /** Rows upserted across click_minutes, click_dimensions and click_totals. */
  rows: number
}

export type ClickRecorderOptions = {
  db: AnalyticsDb
  /** How often buffered clicks are written; a crash loses at most this much. */
  flushIntervalMs?: number
  /** Buffered clicks that trigger a flush before the timer fires. */
  maxBatch?: number
  logger?: RecorderLogger
  /** Injected for tests; defaults to a cached ua-parser-js + isbot classifier. */
  classifyUserAgent?: UserAgentClassifier
  /** Clicks aggregated between two yields to the event loop, so a big flush never stalls redirects. */
  chunkSize?: number
}

export type ClickRecorder = {
  /** Buffers a click. Synchronous, O(1), never throws: safe on the redirect's hot path. */
  record(click: Click): void
  /**
   * Writes every click recorded before the call in one transaction. Never runs two at once: a
   * call during a flush waits for it, then flushes what arrived meanwhile. Rejects when the write
   * fails; the clicks are kept (aggregated) and written by the next flush.
   */
  flush(): Promise<FlushResult>
  /**
   * Stops the timer and flushes everything. Rejects (clicks kept in memory) if the write fails.
   * Call it after the server stopped taking requests; a click recorded later waits for `flush()`.
   */
  close(): Promise<void>
  /** Clicks recorded but not yet written. */
  pending(): number
}

const MINUTE_MS = 60_000
const DAY_MS = 86_400_000
// SQLite caps bound parameters at 32,766; 6 columns × 500 rows stays far below it.
const ROWS_PER_STATEMENT = 500

type Counts = { humans: number; bots: number }
type LinkBatch = Counts & {
  firstClickAt: number
  lastClickAt: number
  minutes: Map<number, Counts>
  /** Key: `${dayStart}\t${dimension}\t${value}` (a tab never occurs in a host or family name). */
  dimensions: Map<string, Counts & { dayStart: number; dimension: StoredDimension; value: string }>
}
type Batch = { clicks: number; links: Map<number, LinkBatch> }

/**
 * Counts clicks off the hot path: `record()` only appends to an array; a flush (every
 * `flushIntervalMs`, at `maxBatch` clicks, or on `close()`) aggregates the buffer in memory into
 * per-minute, per-day-dimension and per-link counters and upserts them in one transaction.
 * N clicks cost a few rows, not N inserts (Kutt writes twice per click on the request path).
 *
 * @example
 * ```ts
 * const recorder = createClickRecorder({ db, logger })
 * app.get('/:code', (c) => {
 *   recorder.record({ linkId, at: Date.now(), referrer: c.req.header('referer') ?? null,
 *     userAgent: c.req.header('user-agent') ?? null })
 *   return c.redirect(target, 302)
 * })
 * // on shutdown, after the server stopped accepting requests:
 * await recorder.close()
 * ```
 */
export function createClickRecorder({
  db,
  flushIntervalMs = 1_000,
  maxBatch = 10_000,
  logger = console,
  classifyUserAgent = createUserAgentClassifier(),
  chunkSize = 2_000,
}: ClickRecorderOptions): ClickRecorder {
  let buffer: Click[] = []
  // Aggregated clicks not yet written: survives failed writes, merged with the next buffer.
  let batch: Batch = { clicks: 0, links: new Map() }
  let running: Promise<FlushResult> | undefined
  let queued: Promise<FlushResult> | undefined
  let flushScheduled = false
  let failing = false

  const timer = setInterval(function flushOnTimer() {
    if (buffer.length === 0 && batch.clicks === 0) return
    flush().catch(noop) // logged inside
  }, flushIntervalMs)
  // The timer must not keep a process alive that has nothing else to do.
  timer.unref()

  function record(click: Click): void {
    buffer.push(click)
    if (buffer.length >= maxBatch && !flushScheduled) {
      // Aggregating is not O(1): let the current request finish first.
      flushScheduled = true
      setImmediate(function flushFullBuffer() {
        flushScheduled = false
        flush().catch(noop)
      })
    }
  }

  function flush(): Promise<FlushResult> {
    if (running === undefined) {
      running = flushOnce().finally(() => {
        running = undefined
      })
      return running
    }
    // One flush waits behind the running one and serves every caller that arrives meanwhile.
    queued ??= running.catch(noop).then(() => {
      queued = undefined
      return flush()
    })
    return queued
  }

  async function flushOnce(): Promise<FlushResult> {
    const clicks = buffer
    buffer = []
    for (let i = 0; i < clicks.length; i += chunkSize) {
      if (i > 0) await yieldToEventLoop()
      aggregate(clicks, i, Math.min(i + chunkSize, clicks.length))
    }
    if (batch.clicks === 0) return { clicks: 0, rows: 0 }

    const written = batch
    try {
      const rows = write(written)
      batch = { clicks: 0, links: new Map() }
      if (failing) logger.info({ clicks: written.clicks }, 'click flush recovered')
      failing = false
      return { clicks: written.clicks, rows }
    } catch (error) {
      // Logged once per outage, not once per interval; the batch stays for the next flush.
      if (!failing) logger.error({ err: error, pending: pending() }, 'click flush failed; kept')
      failing = true
      throw error
    }
  }

  function aggregate(clicks: Click[], start: number, end: number): void {
    for (let i = start; i < end; i++) {
      const click = clicks[i] as Click
      const { linkId, at } = click
      // One bad value would make every later transaction fail (NOT NULL): drop it loudly.
      if (!Number.isSafeInteger(linkId) || !Number.isSafeInteger(at) || at < 0) {
        logger.warn({ linkId, at }, 'invalid click dropped')
        continue
      }
      const ua = classifyUserAgent(click.userAgent)
      const link = linkBatch(linkId, at)
      count(link, ua.bot)
      const minute = at - (at % MINUTE_MS)
      let minuteCounts = link.minutes.get(minute)
      if (minuteCounts === undefined) {
        minuteCounts = { humans: 0, bots: 0 }
        link.minutes.set(minute, minuteCounts)
      }
      count(minuteCounts, ua.bot)
      const dayStart = at - (at % DAY_MS)
      countDimension(link, dayStart, 'referrer', referrerHost(click.referrer), ua.bot)
      countDimension(link, dayStart, 'browser', ua.browser, ua.bot)
      countDimension(link, dayStart, 'os', ua.os, ua.bot)
      batch.clicks++
    }
  }

  function linkBatch(linkId: number, at: number): LinkBatch {
    let link = batch.links.get(linkId)
    if (link === undefined) {
      link = { humans: 0, bots: 0, firstClickAt: at, lastClickAt: at, minutes: new Map(), dimensions: new Map() }
      batch.links.set(linkId, link)
    }
    // Clicks are recorded in arrival order, but `at` comes from the caller: take min and max.
    if (at < link.firstClickAt) link.firstClickAt = at
    if (at > link.lastClickAt) link.lastClickAt = at
    return link
  }

  function countDimension(
    link: LinkBatch,
    dayStart: number,
    dimension: StoredDimension,
    value: string,
    bot: boolean
  ): void {
    const key = `${dayStart}\t${dimension}\t${value}`
    let counts = link.dimensions.get(key)
    if (counts === undefined) {
      counts = { dayStart, dimension, value, humans: 0, bots: 0 }
      link.dimensions.set(key, counts)
    }
    count(counts, bot)
  }

  function write(written: Batch): number {
    const minuteRows: (typeof clickMinutes.$inferInsert)[] = []
    const dimensionRows: (typeof clickDimensions.$inferInsert)[] = []
    const totalRows: (typeof clickTotals.$inferInsert)[] = []
    for (const [linkId, link] of written.links) {
      totalRows.push({
        linkId,
        humans: link.humans,
        bots: link.bots,
        total: link.humans + link.bots,
        firstClickAt: link.firstClickAt,
        lastClickAt: link.lastClickAt,
      })
      for (const [minuteStart, counts] of link.minutes) {
        minuteRows.push({ linkId, minuteStart, ...counts })
      }
      for (const counts of link.dimensions.values()) dimensionRows.push({ linkId, ...counts })
    }

    db.transaction((tx) => {
      for (const rows of chunks(minuteRows)) {
        tx.insert(clickMinutes)
          .values(rows)
          .onConflictDoUpdate({
            target: [clickMinutes.linkId, clickMinutes.minuteStart],
            set: {
              humans: sql`${clickMinutes.humans} + excluded.humans`,
              bots: sql`${clickMinutes.bots} + excluded.bots`,
            },
          })
          .run()
      }
      for (const rows of chunks(dimensionRows)) {
        tx.insert(clickDimensions)
          .values(rows)
          .onConflictDoUpdate({
            target: [
              clickDimensions.linkId,
              clickDimensions.dayStart,
              clickDimensions.dimension,
              clickDimensions.value,
            ],
            set: {
              humans: sql`${clickDimensions.humans} + excluded.humans`,
              bots: sql`${clickDimensions.bots} + excluded.bots`,
            },
          })
          .run()
      }
      for (const rows of chunks(totalRows)) {
        tx.insert(clickTotals)
          .values(rows)
          .onConflictDoUpdate({
            target: clickTotals.linkId,
            set: {
              humans: sql`${clickTotals.humans} + excluded.humans`,
              bots: sql`${clickTotals.bots} + excluded.bots`,
              total: sql`${clickTotals.total} + excluded.total`,
              firstClickAt: sql`min(${clickTotals.firstClickAt}, excluded.first_click_at)`,
              lastClickAt: sql`max(${clickTotals.lastClickAt}, excluded.last_click_at)`,
            },
          })
          .run()
      }
    })
    return minuteRows.length + dimensionRows.length + totalRows.length
  }

  function pending(): number {
    return buffer.length + batch.clicks
  }

  async function close(): Promise<void> {
    clearInterval(timer)
    // Requests still in flight may record while the last flush runs: flush until empty.
    do await flush()
    while (pending() > 0)
  }

  return { record, flush, close, pending }
}

function count(counts: Counts, bot: boolean): void {
  if (bot) counts.bots++
  else counts.humans++
}

function* chunks<T>(rows: T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    yield rows.slice(i, i + ROWS_PER_STATEMENT)
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

function noop(): void {}
