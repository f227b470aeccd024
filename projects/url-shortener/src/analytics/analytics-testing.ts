import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { tempSqliteFile } from '@kit/testing'
import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import * as analyticsSchema from './analytics.schema.ts'

const MIGRATIONS = fileURLToPath(new URL('../../drizzle', import.meta.url))

/** Real User-Agent strings, one per family the breakdowns are tested with. */
export const USER_AGENTS = {
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  safariIos:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  curl: 'curl/8.5.0',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
} as const

export type AnalyticsTestDb = {
  db: BetterSQLite3Database
  sqlite: Database.Database
  path: string
  /** Closes the handle (if still open) and removes the file. */
  cleanup(): void
}

/**
 * Test support (not a test, not used by the app): a real SQLite file in WAL mode with the analytics tables, created by
 * the project's committed drizzle-kit migrations. Until those exist, the tables come from
 * drizzle-kit's generator run on `analytics.schema.ts`, so no DDL is written twice.
 */
export async function openAnalyticsTestDb(prefix = 'analytics'): Promise<AnalyticsTestDb> {
  const file = tempSqliteFile(prefix)
  const sqlite = new Database(file.path)
  sqlite.pragma('journal_mode = WAL')
  const db = drizzle(sqlite)
  if (existsSync(`${MIGRATIONS}/meta/_journal.json`)) {
    migrate(db, { migrationsFolder: MIGRATIONS })
  } else {
    const { generateSQLiteDrizzleJson, generateSQLiteMigration } = await import('drizzle-kit/api')
    const statements = await generateSQLiteMigration(
      await generateSQLiteDrizzleJson({}),
      await generateSQLiteDrizzleJson(analyticsSchema)
    )
    for (const statement of statements) sqlite.exec(statement)
  }
  const missing = ['click_minutes', 'click_dimensions', 'click_totals'].filter(
    (table) => !sqlite.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(table)
  )
  if (missing.length > 0) {
    throw new Error(`migrations lack ${missing.join(', ')}: run \`pnpm db:generate\``)
  }
  return {
    db,
    sqlite,
    path: file.path,
    cleanup() {
      if (sqlite.open) sqlite.close()
      file.cleanup()
    },
  }
}
