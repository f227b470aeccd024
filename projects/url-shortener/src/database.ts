import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import * as analyticsSchema from './analytics/analytics.schema.ts'
import * as linksSchema from './links/links.schema.ts'
import { openDatabase } from './sqlite/open-database.ts'
import type { OpenDatabaseOptions, OpenedDatabase } from './sqlite/open-database.ts'

/** Every table of the service: the links and their click analytics, in one SQLite file. */
export const schema = { ...linksSchema, ...analyticsSchema }

export type Db = BetterSQLite3Database<typeof schema>
export type ServiceDatabase = OpenedDatabase<typeof schema>

/**
 * The service's database: `openDatabase` (WAL, pragmas, checkpoints on a thread) with every
 * table and the committed drizzle-kit migrations (`drizzle/`).
 *
 * @example
 * ```ts
 * const database = openServiceDatabase('./data/url-shortener.db', { migrationsFolder })
 * ```
 */
export function openServiceDatabase(
  file: string,
  options: Omit<OpenDatabaseOptions<typeof schema>, 'schema'>
): ServiceDatabase {
  return openDatabase(file, { schema, ...options })
}
