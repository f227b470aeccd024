import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { generateSQLiteDrizzleJson, generateSQLiteMigration } from 'drizzle-kit/api'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AnalyticsRangeError,
  breakdown,
  deleteLinkAnalytics,
  INTERVALS,
  linkTotals,
  MAX_BUCKETS,
  timeSeries,
  topLinks,
} from './analytics-queries.ts'
import type { Interval } from './analytics-queries.ts'
import * as schema from './analytics.schema.ts'
import { DIRECT, parseUserAgent, referrerHost } from './click-dimensions.ts'
import { createClickRecorder } from './click-recorder.ts'
import type { Click } from './click-recorder.ts'

const HOUR = 3_600_000
const DAY = 86_400_000
const T0 = Date.parse('2026-03-01T00:00:00Z')

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

let test: TestDb
let nextLinkId = 1

beforeAll(async () => {
  test = await openTestDb()
})

afterAll(() => test.cleanup())

async function store(clicks: Click[]): Promise<void> {
  const recorder = createClickRecorder({ db: test.db, flushIntervalMs: 3_600_000 })
  for (const click of clicks) recorder.record(click)
  await recorder.close()
}

/** Clicks for one fresh link: Chrome/Windows from Google, Safari/iOS direct, Firefox/Linux from
 * news.example.org, curl direct, Googlebot from Google, spread over three days. */
async function seedMixedLink(): Promise<number> {
  const linkId = nextLinkId++
  const clicks: Click[] = []
  const add = (n: number, userAgent: string, referrer: string | null, offset: number) => {
    for (let i = 0; i < n; i++)
      clicks.push({ linkId, at: T0 + offset + i * 1_000, userAgent, referrer })
  }
  add(5, USER_AGENTS.chromeWindows, 'https://www.google.com/search?q=x', 0)
  add(4, USER_AGENTS.safariIos, null, 2 * HOUR)
  add(3, USER_AGENTS.firefoxLinux, 'https://news.example.org/item?id=42', DAY + 5 * HOUR)
  add(2, USER_AGENTS.curl, null, DAY + 23 * HOUR)
  add(1, USER_AGENTS.googlebot, 'https://www.google.com/', 2 * DAY + 12 * HOUR)
  await store(clicks)
  return linkId
}

describe('linkTotals', () => {
  it('when a link has clicks, gives total, humans, bots and first/last click times', async () => {
    const linkId = await seedMixedLink()

    const totals = linkTotals(test.db, linkId)

    expect(totals).toEqual({
      total: 15,
      humans: 12,
      bots: 3,
      firstClickAt: T0,
      lastClickAt: T0 + 2 * DAY + 12 * HOUR,
    })
  })

  it('when a link has no clicks, gives zeros and null times', () => {
    expect(linkTotals(test.db, 999_999)).toEqual({
      total: 0,
      humans: 0,
      bots: 0,
      firstClickAt: null,
      lastClickAt: null,
    })
  })
})

describe('timeSeries', () => {
  it.each([
    ['1m', 16 * HOUR, 9], // 960 buckets: three days of minutes would exceed MAX_BUCKETS
    ['5m', 3 * DAY, 15],
    ['15m', 3 * DAY, 15],
    ['1h', 3 * DAY, 15],
    ['6h', 3 * DAY, 15],
    ['1d', 3 * DAY, 15],
  ] as const)(
    'when the interval is %s, the buckets sum to the total of the range',
    async (interval, span, total) => {
      const linkId = await seedMixedLink()

      const series = timeSeries(test.db, linkId, { from: T0, to: T0 + span, interval })

      expect(series.buckets).toHaveLength(span / INTERVALS[interval])
      expect(series.buckets.reduce((sum, bucket) => sum + bucket.total, 0)).toBe(total)
      expect(series.total).toBe(total)
      expect(series.humans + series.bots).toBe(total)
      expect(series.buckets.every((b, i) => b.start === T0 + i * INTERVALS[interval])).toBe(true)
    }
  )

  it('when the range is custom and unaligned, widens it to whole buckets and keeps empty ones', async () => {
    const linkId = await seedMixedLink()

    const series = timeSeries(test.db, linkId, {
      from: T0 + 90 * 60_000, // 01:30 on day 1
      to: T0 + DAY + 5 * HOUR + 1, // just after 05:00 on day 2
      interval: '6h',
    })

    expect(series.from).toBe(T0)
    expect(series.to).toBe(T0 + DAY + 6 * HOUR)
    expect(series.buckets.map((bucket) => bucket.total)).toEqual([9, 0, 0, 0, 3])
    expect(series.buckets[4]).toEqual({ start: T0 + DAY, total: 3, humans: 3, bots: 0 })
  })

  it('when the range holds more than MAX_BUCKETS buckets, refuses it', () => {
    const to = T0 + (MAX_BUCKETS + 1) * 60_000

    expect(() => timeSeries(test.db, 1, { from: T0, to, interval: '1m' })).toThrow(
      AnalyticsRangeError
    )
    expect(
      timeSeries(test.db, 1, { from: T0, to: to - 60_000, interval: '1m' }).buckets
    ).toHaveLength(MAX_BUCKETS)
  })

  it('when `to` is not after `from`, refuses the range', () => {
    expect(() => timeSeries(test.db, 1, { from: T0, to: T0, interval: '1h' })).toThrow(
      AnalyticsRangeError
    )
  })
})

describe('breakdown', () => {
  it('when asked by referrer, gives hosts (not URLs) and direct visits, largest first', async () => {
    const linkId = await seedMixedLink()

    const result = breakdown(test.db, linkId, 'referrer', { from: T0, to: T0 + 3 * DAY })

    expect(result.values).toEqual([
      { value: DIRECT, total: 6, humans: 4, bots: 2 },
      { value: 'www.google.com', total: 6, humans: 5, bots: 1 },
      { value: 'news.example.org', total: 3, humans: 3, bots: 0 },
    ])
    expect(result.other).toEqual({ total: 0, humans: 0, bots: 0 })
  })

  it('when asked by browser and OS, gives the families ua-parser-js reports', async () => {
    const linkId = await seedMixedLink()

    const browsers = breakdown(test.db, linkId, 'browser', { from: T0, to: T0 + 3 * DAY })
    const oses = breakdown(test.db, linkId, 'os', { from: T0, to: T0 + 3 * DAY })

    expect(browsers.values.map(({ value, total }) => [value, total])).toEqual([
      ['Chrome', 5],
      ['Mobile Safari', 4],
      ['Firefox', 3],
      ['curl', 2],
      ['Googlebot', 1],
    ])
    expect(oses.values.map(({ value, total }) => [value, total])).toEqual([
      ['Windows', 5],
      ['iOS', 4],
      ['(unknown)', 3],
      ['Linux', 3],
    ])
  })

  it('when asked by bot flag, splits humans from bots', async () => {
    const linkId = await seedMixedLink()

    const result = breakdown(test.db, linkId, 'bot', { from: T0, to: T0 + 3 * DAY })

    expect(result.values).toEqual([
      { value: 'human', total: 12, humans: 12, bots: 0 },
      { value: 'bot', total: 3, humans: 0, bots: 3 },
    ])
  })

  it('when the limit cuts the list, `other` holds the rest so the range total is kept', async () => {
    const linkId = await seedMixedLink()

    const result = breakdown(test.db, linkId, 'browser', { from: T0, to: T0 + 3 * DAY, limit: 2 })

    expect(result.values.map((row) => row.value)).toEqual(['Chrome', 'Mobile Safari'])
    expect(result.other).toEqual({ total: 6, humans: 3, bots: 3 })
  })

  it('when the range covers part of a day, reads whole UTC days', async () => {
    const linkId = await seedMixedLink()

    const result = breakdown(test.db, linkId, 'browser', {
      from: T0 + DAY + HOUR,
      to: T0 + DAY + 2 * HOUR,
    })

    expect(result).toMatchObject({ from: T0 + DAY, to: T0 + 2 * DAY })
    expect(result.values.map(({ value, total }) => [value, total])).toEqual([
      ['Firefox', 3],
      ['curl', 2],
    ])
  })
})

describe('topLinks', () => {
  it('when links have different totals, lists the most clicked first', async () => {
    const [small, large, medium] = [nextLinkId++, nextLinkId++, nextLinkId++] as const
    const clicks = (linkId: number, n: number): Click[] =>
      Array.from({ length: n }, () => ({ linkId, at: T0, referrer: null, userAgent: null }))
    await store([...clicks(small, 1_001), ...clicks(large, 1_003), ...clicks(medium, 1_002)])

    const top = topLinks(test.db, 3)

    expect(top).toEqual([large, medium, small])
  })
})

describe('deleteLinkAnalytics', () => {
  it('when a link is deleted, its rows go and other links keep theirs', async () => {
    const deleted = await seedMixedLink()
    const kept = await seedMixedLink()

    deleteLinkAnalytics(test.db, deleted)

    const rows = (linkId: number) =>
      (['click_minutes', 'click_dimensions', 'click_totals'] as const).map(
        (table) =>
          (
            test.sqlite
              .prepare(`SELECT count(*) AS n FROM ${table} WHERE link_id = ?`)
              .get(linkId) as { n: number }
          ).n
      )
    expect(rows(deleted)).toEqual([0, 0, 0])
    expect(rows(kept).every((n) => n > 0)).toBe(true)
  })
})

describe('analytics invariants (property)', () => {
  const referrers = [null, 'https://a.example/x', 'https://b.example/', 'garbage']
  const agents = [null, ...Object.values(USER_AGENTS)]
  const intervals = Object.keys(INTERVALS) as Interval[]

  it('when random clicks are recorded, every query agrees with a naive count of them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            at: fc.integer({ min: T0, max: T0 + 3 * DAY - 1 }),
            referrer: fc.constantFrom(...referrers),
            userAgent: fc.constantFrom(...agents),
          }),
          { minLength: 1, maxLength: 300 }
        ),
        fc.integer({ min: T0 - DAY, max: T0 + 3 * DAY }),
        fc.integer({ min: 1, max: 3 * DAY }),
        fc.constantFrom(...intervals.filter((i) => i !== '1m')),
        async (raw, from, span, interval) => {
          const linkId = nextLinkId++
          const clicks = raw.map((click) => ({ ...click, linkId }))
          await store(clicks)
          const to = from + span
          const step = INTERVALS[interval]
          const seriesFrom = Math.floor(from / step) * step
          const seriesTo = Math.ceil(to / step) * step
          const inSeries = clicks.filter((c) => c.at >= seriesFrom && c.at < seriesTo)
          const dayFrom = Math.floor(from / DAY) * DAY
          const dayTo = Math.ceil(to / DAY) * DAY
          const inDays = clicks.filter((c) => c.at >= dayFrom && c.at < dayTo)

          const totals = linkTotals(test.db, linkId)
          const series = timeSeries(test.db, linkId, { from, to, interval })
          const referrerRows = breakdown(test.db, linkId, 'referrer', { from, to, limit: 100 })

          const bots = clicks.filter((c) => parseUserAgent(c.userAgent).bot).length
          expect(totals).toMatchObject({ total: clicks.length, bots, humans: clicks.length - bots })
          expect(series.total).toBe(inSeries.length)
          for (const bucket of series.buckets) {
            const expected = inSeries.filter(
              (c) => c.at >= bucket.start && c.at < bucket.start + step
            )
            expect(bucket.total).toBe(expected.length)
          }
          const expectedHosts = new Map<string, number>()
          for (const c of inDays) {
            const host = referrerHost(c.referrer)
            expectedHosts.set(host, (expectedHosts.get(host) ?? 0) + 1)
          }
          expect(new Map(referrerRows.values.map((row) => [row.value, row.total]))).toEqual(
            expectedHosts
          )
        }
      ),
      { numRuns: 40 }
    )
  })
})
