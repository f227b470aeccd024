import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { generateSQLiteDrizzleJson, generateSQLiteMigration } from 'drizzle-kit/api'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { linkTotals, timeSeries } from './analytics-queries.ts'
import * as schema from './analytics.schema.ts'
import { createClickRecorder } from './click-recorder.ts'
import type { Click, ClickRecorder, RecorderLogger } from './click-recorder.ts'
import { parseUserAgent } from './click-dimensions.ts'

const T0 = Date.parse('2026-03-01T10:00:00Z')

/** Real User-Agent strings, one per family the breakdowns are tested with. */
const USER_AGENTS = {
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  safariIos:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  curl: 'curl/8.5.0',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
} as const

type TestDb = { db: ReturnType<typeof drizzle>; sqlite: Database.Database; cleanup(): void }

/**
 * A real SQLite file in a fresh temp dir, in WAL mode as production runs it, with the tables of
 * analytics.schema.ts created by drizzle-kit from the schema itself (the same DDL its
 * migrations hold).
 */
async function openTestDb(): Promise<TestDb> {
  const dir = mkdtempSync(join(tmpdir(), 'analytics-'))
  const sqlite = new Database(join(dir, 'analytics.db'))
  sqlite.pragma('journal_mode = WAL')
  const empty = await generateSQLiteDrizzleJson({})
  for (const statement of await generateSQLiteMigration(
    empty,
    await generateSQLiteDrizzleJson(schema)
  )) {
    sqlite.exec(statement)
  }
  return {
    db: drizzle({ client: sqlite }),
    sqlite,
    cleanup() {
      sqlite.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Resolves once `check` holds, polling every 10 ms; fails after 5 s with `message`. */
async function waitFor(check: () => boolean, { message }: { message: string }): Promise<void> {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(message)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function click(
  linkId: number,
  at = T0,
  userAgent: string | null = USER_AGENTS.firefoxLinux
): Click {
  return { linkId, at, referrer: 'https://news.example.org/item?id=1', userAgent }
}

function recordingLogger() {
  const lines: { level: string; msg: string | undefined }[] = []
  const logger: RecorderLogger = {
    error: (_obj, msg) => lines.push({ level: 'error', msg }),
    warn: (_obj, msg) => lines.push({ level: 'warn', msg }),
    info: (_obj, msg) => lines.push({ level: 'info', msg }),
  }
  return { logger, lines }
}

/** Every count the tables hold for a link must agree: totals, minute rows, dimension rows. */
function storedCounts(test: TestDb, linkId: number) {
  const sum = (table: string, extra = '') =>
    (
      test.sqlite
        .prepare(
          `SELECT coalesce(sum(humans + bots), 0) AS n FROM ${table} WHERE link_id = ? ${extra}`
        )
        .get(linkId) as { n: number }
    ).n
  return {
    total: linkTotals(test.db, linkId).total,
    minutes: sum('click_minutes'),
    referrers: sum('click_dimensions', "AND dimension = 'referrer'"),
    browsers: sum('click_dimensions', "AND dimension = 'browser'"),
    oses: sum('click_dimensions', "AND dimension = 'os'"),
  }
}

function allEqual(n: number) {
  return { total: n, minutes: n, referrers: n, browsers: n, oses: n }
}

describe('createClickRecorder', () => {
  let test: TestDb
  let recorder: ClickRecorder | undefined

  beforeEach(async () => {
    test = await openTestDb()
  })

  afterEach(async () => {
    await recorder?.close().catch(() => {})
    recorder = undefined
    test.cleanup()
  })

  it('when many async tasks record concurrently, close() leaves exactly N clicks counted', async () => {
    recorder = createClickRecorder({ db: test.db, flushIntervalMs: 5, maxBatch: 500 })
    const tasks = 50
    const clicksPerTask = 400
    const uas = Object.values(USER_AGENTS)

    await Promise.all(
      Array.from({ length: tasks }, async (_, task) => {
        for (let i = 0; i < clicksPerTask; i++) {
          recorder?.record(click(1 + (i % 3), T0 + i * 1_000, uas[(task + i) % uas.length] ?? null))
          if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve))
        }
      })
    )
    await recorder.close()

    const n = tasks * clicksPerTask
    const perLink = [1, 2, 3].map((id) => storedCounts(test, id))
    expect(perLink.reduce((sum, counts) => sum + counts.total, 0)).toBe(n)
    for (const counts of perLink) expect(counts).toEqual(allEqual(counts.total))
    expect(recorder.pending()).toBe(0)
  })

  it('when record() is called, nothing is parsed until a flush', async () => {
    let parses = 0
    recorder = createClickRecorder({
      db: test.db,
      flushIntervalMs: 3_600_000,
      classifyUserAgent: (ua) => {
        parses++
        return parseUserAgent(ua)
      },
    })

    for (let i = 0; i < 1_000; i++) recorder.record(click(7, T0, `agent/${i}`))
    const parsesBeforeFlush = parses
    await recorder.flush()

    expect(parsesBeforeFlush).toBe(0)
    expect(parses).toBe(1_000)
    expect(recorder.pending()).toBe(0)
  })

  it('when the write fails, keeps the batch and a later flush writes every click once', async () => {
    const { logger, lines } = recordingLogger()
    recorder = createClickRecorder({ db: test.db, flushIntervalMs: 3_600_000, logger })
    // A read-only table: the transaction aborts after click_minutes and click_dimensions were
    // written, so this also proves the rollback.
    test.sqlite.exec(`
      CREATE TRIGGER deny_insert BEFORE INSERT ON click_totals BEGIN SELECT RAISE(ABORT, 'read-only'); END;
      CREATE TRIGGER deny_update BEFORE UPDATE ON click_totals BEGIN SELECT RAISE(ABORT, 'read-only'); END;
    `)
    for (let i = 0; i < 300; i++) recorder.record(click(5, T0 + i * 10_000))

    await expect(recorder.flush()).rejects.toThrow('read-only')
    for (let i = 0; i < 200; i++) recorder.record(click(5, T0 + i * 10_000, USER_AGENTS.googlebot))
    await expect(recorder.flush()).rejects.toThrow('read-only')
    const whileFailing = { pending: recorder.pending(), stored: storedCounts(test, 5) }
    test.sqlite.exec('DROP TRIGGER deny_insert; DROP TRIGGER deny_update;')
    const result = await recorder.flush()

    expect(whileFailing).toEqual({ pending: 500, stored: allEqual(0) })
    expect(result.clicks).toBe(500)
    expect(storedCounts(test, 5)).toEqual(allEqual(500))
    expect(linkTotals(test.db, 5)).toMatchObject({ humans: 300, bots: 200 })
    expect(recorder.pending()).toBe(0)
    expect(lines.map((line) => line.level)).toEqual(['error', 'info']) // once per outage
  })

  it('when a flush holds many links, it writes them a few per transaction with the event loop free between', async () => {
    recorder = createClickRecorder({
      db: test.db,
      flushIntervalMs: 3_600_000,
      linksPerTransaction: 10,
    })
    for (let link = 1_000; link < 1_100; link++) recorder.record(click(link))
    // Counts event-loop turns: an immediate that queues itself runs once per turn.
    let turns = 0
    let counting = true
    const count = () => {
      turns++
      if (counting) setImmediate(count)
    }
    setImmediate(count)

    const result = await recorder.flush()
    counting = false

    expect(result.clicks).toBe(100)
    // 10 transactions, the loop turned between each two (one synchronous write would let none).
    expect(turns).toBeGreaterThanOrEqual(9)
    for (let link = 1_000; link < 1_100; link++)
      expect(storedCounts(test, link)).toEqual(allEqual(1))
  })

  it('when a write fails mid-flush, the links written before it are not written again, and the rest are', async () => {
    const { logger } = recordingLogger()
    recorder = createClickRecorder({
      db: test.db,
      flushIntervalMs: 3_600_000,
      linksPerTransaction: 10,
      logger,
    })
    // Link 2_055 cannot be written: its transaction (links 2_050-2_059) fails, those before commit.
    test.sqlite.exec(`
      CREATE TRIGGER deny_2055 BEFORE INSERT ON click_totals WHEN NEW.link_id = 2055
      BEGIN SELECT RAISE(ABORT, 'link 2055 refused'); END;
    `)
    for (let link = 2_000; link < 2_100; link++) {
      for (let i = 0; i < 3; i++) recorder.record(click(link, T0 + i))
    }

    await expect(recorder.flush()).rejects.toThrow('link 2055 refused')
    const committed = Array.from({ length: 100 }, (_, i) => linkTotals(test.db, 2_000 + i).total)
    const pendingWhileFailing = recorder.pending()
    test.sqlite.exec('DROP TRIGGER deny_2055')
    const result = await recorder.flush()

    expect(committed).toEqual(Array.from({ length: 100 }, (_, i) => (i < 50 ? 3 : 0)))
    expect(pendingWhileFailing).toBe(150)
    expect(result.clicks).toBe(150)
    for (let link = 2_000; link < 2_100; link++)
      expect(storedCounts(test, link)).toEqual(allEqual(3))
    expect(recorder.pending()).toBe(0)
  })

  it('when the database handle is closed, close() rejects and the clicks stay pending', async () => {
    recorder = createClickRecorder({
      db: test.db,
      flushIntervalMs: 3_600_000,
      logger: recordingLogger().logger,
    })
    for (let i = 0; i < 10; i++) recorder.record(click(9))
    test.sqlite.close()

    await expect(recorder.close()).rejects.toThrow(/not open/)

    expect(recorder.pending()).toBe(10)
  })

  it('when stopped cleanly, close() writes every buffered click', async () => {
    recorder = createClickRecorder({ db: test.db, flushIntervalMs: 3_600_000 })
    for (let i = 0; i < 1_234; i++) recorder.record(click(11, T0 + i))

    await recorder.close()

    expect(storedCounts(test, 11)).toEqual(allEqual(1_234))
    expect(recorder.pending()).toBe(0)
  })

  it('when a click arrives while close() is flushing, close() writes it too', async () => {
    recorder = createClickRecorder({ db: test.db, flushIntervalMs: 3_600_000, chunkSize: 10 })
    for (let i = 0; i < 1_000; i++) recorder.record(click(17))

    const closing = recorder.close() // its flush is now yielding between chunks
    recorder.record(click(17)) // an in-flight request finishing during shutdown
    await closing

    expect(storedCounts(test, 17)).toEqual(allEqual(1_001))
  })

  it('when the interval elapses, the timer flushes without being asked', async () => {
    recorder = createClickRecorder({ db: test.db, flushIntervalMs: 20 })

    for (let i = 0; i < 42; i++) recorder.record(click(12))

    await waitFor(() => linkTotals(test.db, 12).total === 42, { message: 'timer never flushed' })
    expect(recorder.pending()).toBe(0)
  })

  it('when the buffer reaches maxBatch, flushes before the timer fires', async () => {
    recorder = createClickRecorder({ db: test.db, flushIntervalMs: 3_600_000, maxBatch: 100 })

    for (let i = 0; i < 250; i++) recorder.record(click(13))
    const writtenWhileRecording = linkTotals(test.db, 13).total

    // The timer is an hour away: only maxBatch can have triggered this write.
    await waitFor(() => linkTotals(test.db, 13).total > 0, { message: 'maxBatch never flushed' })

    expect(writtenWhileRecording).toBe(0)
    expect(linkTotals(test.db, 13).total).toBe(250)
    expect(recorder.pending()).toBe(0)
  })

  it('when flush() is called during a flush, it waits and then writes what arrived meanwhile', async () => {
    // chunkSize 10: the first flush yields to the event loop 100 times while aggregating.
    recorder = createClickRecorder({ db: test.db, flushIntervalMs: 3_600_000, chunkSize: 10 })
    for (let i = 0; i < 1_000; i++) recorder.record(click(14))

    const first = recorder.flush()
    recorder.record(click(14))
    const second = recorder.flush()
    const third = recorder.flush()
    const results = await Promise.all([first, second, third])

    expect(results.map((result) => result.clicks)).toEqual([1_000, 1, 1])
    expect(second).toBe(third) // callers arriving during a flush share the next one
    expect(storedCounts(test, 14)).toEqual(allEqual(1_001))
  })

  it('when a click has an invalid id or time, drops it alone and writes the rest', async () => {
    const { logger, lines } = recordingLogger()
    recorder = createClickRecorder({ db: test.db, flushIntervalMs: 3_600_000, logger })

    recorder.record(click(15))
    recorder.record({ ...click(15), at: Number.NaN })
    recorder.record({ ...click(15), linkId: 1.5 })
    recorder.record(click(15))
    await recorder.flush()

    expect(linkTotals(test.db, 15).total).toBe(2)
    expect(lines.filter((line) => line.level === 'warn')).toHaveLength(2)
  })

  it('when clicks span minutes, each lands in its own minute row and the first/last times are kept', async () => {
    recorder = createClickRecorder({ db: test.db, flushIntervalMs: 3_600_000 })

    recorder.record(click(16, T0 + 59_999))
    recorder.record(click(16, T0))
    recorder.record(click(16, T0 + 60_000))
    await recorder.flush()
    recorder.record(click(16, T0 - 1))
    await recorder.flush()

    const series = timeSeries(test.db, 16, { from: T0 - 60_000, to: T0 + 120_000, interval: '1m' })
    expect(series.buckets.map((bucket) => bucket.total)).toEqual([1, 2, 1])
    expect(linkTotals(test.db, 16)).toMatchObject({
      firstClickAt: T0 - 1,
      lastClickAt: T0 + 60_000,
    })
  })
})
