import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * Click analytics, stored as pre-aggregated counters rather than one row per click.
 *
 * Every click is counted, but a flush turns a batch of N clicks into a handful of upserts
 * (`count = count + excluded.count`), so the write cost follows the number of distinct
 * (link, minute) and (link, day, dimension, value) pairs, not the number of clicks. Reads never
 * scan raw events (Shlink's `COUNT(*)` over a visits table is what made its stats slow,
 * shlinkio/shlink#2080).
 *
 * All timestamps are epoch milliseconds (UTC). `link_id` is `links.id`; there is no foreign key
 * so the analytics tables can be migrated and tested on their own; deleting a link deletes its
 * rows through `deleteLinkAnalytics`.
 */

/** Clicks per link per minute: the time series. Any interval of >= 1 minute is a SQL GROUP BY. */
export const clickMinutes = sqliteTable(
  'click_minutes',
  {
    linkId: integer('link_id').notNull(),
    /** Start of the UTC minute, epoch ms (a multiple of 60,000). */
    minuteStart: integer('minute_start').notNull(),
    humans: integer('humans').notNull().default(0),
    bots: integer('bots').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.linkId, t.minuteStart] })]
)

/** Clicks per link per UTC day by dimension value: the breakdowns (referrer host, browser, OS). */
export const clickDimensions = sqliteTable(
  'click_dimensions',
  {
    linkId: integer('link_id').notNull(),
    /** Start of the UTC day, epoch ms (a multiple of 86,400,000). */
    dayStart: integer('day_start').notNull(),
    /** 'referrer' | 'browser' | 'os' (`StoredDimension` in click-dimensions.ts). */
    dimension: text('dimension').notNull(),
    /** Referrer host, browser family or OS family; '(direct)' / '(unknown)' when absent. */
    value: text('value').notNull(),
    humans: integer('humans').notNull().default(0),
    bots: integer('bots').notNull().default(0),
  },
  // dimension before day: a breakdown reads one dimension over a range of days, contiguously.
  (t) => [primaryKey({ columns: [t.linkId, t.dimension, t.dayStart, t.value] })]
)

/**
 * Running totals per link: O(1) answers for the stats summary and for `topLinks` (cache warm-up)
 * without summing every minute a link was ever clicked.
 */
export const clickTotals = sqliteTable(
  'click_totals',
  {
    linkId: integer('link_id').primaryKey(),
    humans: integer('humans').notNull().default(0),
    bots: integer('bots').notNull().default(0),
    /** humans + bots, stored so the most-clicked links come from an index. */
    total: integer('total').notNull().default(0),
    firstClickAt: integer('first_click_at').notNull(),
    lastClickAt: integer('last_click_at').notNull(),
  },
  (t) => [index('click_totals_total_idx').on(t.total)]
)
