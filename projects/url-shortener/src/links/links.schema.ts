import { sql } from 'drizzle-orm'
import { check, index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * Short links. Timestamps are epoch milliseconds (UTC).
 *
 * - `code` is UNIQUE with SQLite's default BINARY collation: case-sensitive, and the constraint,
 *   not a check-then-insert, is what makes one of N concurrent creates of an alias win.
 * - Deleting sets `deleted_at`: the row keeps its code, so a deleted short link can never be
 *   re-registered to point somewhere else.
 * - `url_hash` (SHA-256 of the target) is indexed so idempotent create (`reuse`) finds an existing
 *   link without scanning (shlinkio/shlink PR #2133: 1.8 s lookups without that index).
 * - `visits` is only counted for links with `max_visits` (one conditional UPDATE per redirect);
 *   click analytics live in their own tables.
 * - `updated_at` doubles as the cache version: it strictly increases on every change.
 * - `reuse_key` is who may get the link back from a `reuse` create: set only on plain links
 *   (generated code, no expiry, no visit limit), to the identity of the caller that made it.
 *   Links with an alias, imported links and links from before the column have none: never
 *   reused.
 */
export const links = sqliteTable(
  'links',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    code: text('code').notNull().unique(),
    target: text('target').notNull(),
    urlHash: text('url_hash').notNull(),
    /** 301 | 302 | 307 | 308; null follows the service default (REDIRECT_STATUS). */
    redirectStatus: integer('redirect_status'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    expiresAt: integer('expires_at'),
    maxVisits: integer('max_visits'),
    visits: integer('visits').notNull().default(0),
    deletedAt: integer('deleted_at'),
    reuseKey: text('reuse_key'),
    /** Append the short URL's query string to the target (Shlink's forwardQuery). */
    forwardQuery: integer('forward_query', { mode: 'boolean' }).notNull().default(true),
    /** Append the path below the code to the target's path (`/code/info/refs` for git). */
    forwardPath: integer('forward_path', { mode: 'boolean' }).notNull().default(false),
  },
  (t) => [
    index('links_url_hash_idx').on(t.urlHash),
    // Partial index: the expiry sweep and "live links" reads only look at links that can expire.
    index('links_expires_at_idx')
      .on(t.expiresAt)
      .where(sql`${t.expiresAt} IS NOT NULL`),
    check(
      'links_redirect_status_check',
      sql`${t.redirectStatus} IS NULL OR ${t.redirectStatus} IN (301, 302, 307, 308)`
    ),
    check('links_max_visits_check', sql`${t.maxVisits} IS NULL OR ${t.maxVisits} > 0`),
  ]
)

export type LinkRow = typeof links.$inferSelect
export type NewLinkRow = typeof links.$inferInsert
