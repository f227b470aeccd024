import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import * as schema from './schema.ts'

export type Db = BetterSQLite3Database<typeof schema>

/**
 * Opens (creating it and its folder) the SQLite file and applies the committed migrations: the
 * same path in production and in tests. WAL, so readers (history pages) never wait for the
 * writer; synchronous=NORMAL, so a commit survives a process crash without an fsync each;
 * busy_timeout, so instances sharing the file (the Redis mode's archive) wait for each other.
 *
 * @example
 * ```ts
 * const database = openDatabase('./data/chat.db', { migrationsFolder: './drizzle' })
 * ```
 */
export function openDatabase(
  file: string,
  { migrationsFolder, busyTimeoutMs = 5000 }: { migrationsFolder: string; busyTimeoutMs?: number }
): { db: Db; close(): void } {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const sqlite = new Database(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`)
  sqlite.pragma('foreign_keys = ON')
  const db = drizzle({ client: sqlite, schema })
  migrate(db, { migrationsFolder })
  return { db, close: () => sqlite.close() }
}
