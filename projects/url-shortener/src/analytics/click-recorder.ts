import { sql } from 'drizzle-orm'
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core'
import { clickDimensions, clickMinutes, clickTotals } from './analytics.schema.ts'
import { createUserAgentClassifier, referrerHost, STORED_DIMENSIONS } from './click-dimensions.ts'
import type { StoredDimension, UserAgentClassifier } from './click-dimensions.ts'

/**
 * Any synchronous drizzle SQLite database (better-sqlite3) whose file has the analytics tables.
 * The schema parameter is `any` so a db opened with the app's full schema is accepted.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any schema that has these tables
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
  /** Clicks aggregated between two yields to the event loop: a big flush never stalls redirects. */
  chunkSize?: number
  /**
   * Links written per transaction, with a yield to the event loop between two: a flush of a
   * busy second (thousands of links, five upserts each) would otherwise hold the loop for one
   * long synchronous write, and every redirect arriving meanwhile would wait for it.
   */
  linksPerTransaction?: number
}

export type ClickRecorder = {
  /** Buffers a click. Synchronous, O(1), never throws: safe on the redirect's hot path. */
  record(click: Click): void
  /**
   * Writes every click recorded before the call, a transaction per `linksPerTransaction` links.
   * Never runs two at once: a call during a flush waits for it, then flushes what arrived
   * meanwhile. Rejects when a write fails; its clicks are kept (aggregated) and written by the
   * next flush.
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

type Counts = { humans: number; bots: number }
type LinkBatch = Counts & {
  firstClickAt: number
  lastClickAt: number
  minutes: Map<number, Counts>
  /** Per UTC day start, per dimension, per value. */
  days: Map<number, Record<StoredDimension, Map<string, Counts>>>
}
type Batch = { clicks: number; links: Map<number, LinkBatch> }

/**
 * Counts clicks off the hot path: `record()` only appends to an array; a flush (every
 * `flushIntervalMs`, at `maxBatch` clicks, or on `close()`) aggregates the buffer in memory into
 * per-minute, per-day-dimension and per-link counters and upserts them, a transaction per
 * `linksPerTransaction` links with the event loop free between two.
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
  linksPerTransaction = 100,
}: ClickRecorderOptions): ClickRecorder {
  let buffer: Click[] = []
  // Aggregated clicks not yet written: survives failed writes, merged with the next buffer.
  const batch: Batch = { clicks: 0, links: new Map() }
  let running: Promise<FlushResult> | undefined
  let queued: Promise<FlushResult> | undefined
  let flushScheduled = false
  let failing = false
  // Prepared once, on the first flush (the tables must exist by then, not at construction).
  let statements: ReturnType<typeof prepareUpserts> | undefined

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

    // Each transaction's links leave the batch once it committed; a failed one rolls back and
    // stays, with the links after it, for the next flush: nothing written twice, nothing lost.
    const entries = [...batch.links]
    let written = 0
    let rows = 0
    try {
      for (let i = 0; i < entries.length; i += linksPerTransaction) {
        if (i > 0) await yieldToEventLoop()
        const part = entries.slice(i, i + linksPerTransaction)
        rows += write(part)
        for (const [linkId, link] of part) {
          batch.links.delete(linkId)
          batch.clicks -= link.humans + link.bots
          written += link.humans + link.bots
        }
      }
      if (failing) logger.info({ clicks: written }, 'click flush recovered')
      failing = false
      return { clicks: written, rows }
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
      let day = link.days.get(dayStart)
      if (day === undefined) {
        day = { referrer: new Map(), browser: new Map(), os: new Map() }
        link.days.set(dayStart, day)
      }
      countValue(day.referrer, referrerHost(click.referrer), ua.bot)
      countValue(day.browser, ua.browser, ua.bot)
      countValue(day.os, ua.os, ua.bot)
      batch.clicks++
    }
  }

  function linkBatch(linkId: number, at: number): LinkBatch {
    let link = batch.links.get(linkId)
    if (link === undefined) {
      link = {
        humans: 0,
        bots: 0,
        firstClickAt: at,
        lastClickAt: at,
        minutes: new Map(),
        days: new Map(),
      }
      batch.links.set(linkId, link)
    }
    // Clicks are recorded in arrival order, but `at` comes from the caller: take min and max.
    if (at < link.firstClickAt) link.firstClickAt = at
    if (at > link.lastClickAt) link.lastClickAt = at
    return link
  }

  /** One transaction: the links' minute, dimension and total upserts. */
  function write(links: [number, LinkBatch][]): number {
    statements ??= prepareUpserts(db)
    const { minute, dimension, total } = statements
    let rows = 0
    db.transaction(() => {
      for (const [linkId, link] of links) {
        for (const [minuteStart, counts] of link.minutes) {
          minute.run({ linkId, minuteStart, humans: counts.humans, bots: counts.bots })
        }
        for (const [dayStart, day] of link.days) {
          for (const name of STORED_DIMENSIONS) {
            for (const [value, counts] of day[name]) {
              dimension.run({ linkId, dayStart, dimension: name, value, ...counts })
              rows++
            }
          }
        }
        total.run({
          linkId,
          humans: link.humans,
          bots: link.bots,
          firstClickAt: link.firstClickAt,
          lastClickAt: link.lastClickAt,
        })
        rows += link.minutes.size + 1
      }
    })
    return rows
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

function countValue(values: Map<string, Counts>, value: string, bot: boolean): void {
  let counts = values.get(value)
  if (counts === undefined) {
    counts = { humans: 0, bots: 0 }
    values.set(value, counts)
  }
  count(counts, bot)
}

function count(counts: Counts, bot: boolean): void {
  if (bot) counts.bots++
  else counts.humans++
}

/**
 * One prepared single-row upsert per table: `count = count + excluded.count`. Prepared statements
 * run inside one transaction are several times cheaper than building multi-row INSERTs per flush.
 */
function prepareUpserts(db: AnalyticsDb) {
  const p = sql.placeholder
  const minute = db
    .insert(clickMinutes)
    .values({
      linkId: p('linkId'),
      minuteStart: p('minuteStart'),
      humans: p('humans'),
      bots: p('bots'),
    })
    .onConflictDoUpdate({
      target: [clickMinutes.linkId, clickMinutes.minuteStart],
      set: {
        humans: sql`${clickMinutes.humans} + excluded.humans`,
        bots: sql`${clickMinutes.bots} + excluded.bots`,
      },
    })
    .prepare()
  const dimension = db
    .insert(clickDimensions)
    .values({
      linkId: p('linkId'),
      dayStart: p('dayStart'),
      dimension: p('dimension'),
      value: p('value'),
      humans: p('humans'),
      bots: p('bots'),
    })
    .onConflictDoUpdate({
      target: [
        clickDimensions.linkId,
        clickDimensions.dimension,
        clickDimensions.dayStart,
        clickDimensions.value,
      ],
      set: {
        humans: sql`${clickDimensions.humans} + excluded.humans`,
        bots: sql`${clickDimensions.bots} + excluded.bots`,
      },
    })
    .prepare()
  const total = db
    .insert(clickTotals)
    .values({
      linkId: p('linkId'),
      humans: p('humans'),
      bots: p('bots'),
      total: sql`${p('humans')} + ${p('bots')}`,
      firstClickAt: p('firstClickAt'),
      lastClickAt: p('lastClickAt'),
    })
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
    .prepare()
  return { minute, dimension, total }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

function noop(): void {}
