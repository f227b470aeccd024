import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import * as schema from './schema.ts'

export type Db = BetterSQLite3Database<typeof schema>

export type OpenedDatabase = { db: Db; sqlite: Database.Database; close(): void }

/**
 * Opens (creating it and its folder) the SQLite file that the API process and every worker
 * process share, and applies the committed migrations: the same path in production and tests.
 * WAL lets readers and the one writer proceed together; synchronous=NORMAL keeps every commit
 * through a process crash (only an OS crash can lose the last ones); busy_timeout makes the
 * processes wait for each other's write lock instead of failing.
 *
 * @example
 * ```ts
 * const { db, sqlite, close } = openDatabase(config.DB_FILE, { migrationsFolder })
 * ```
 */
export function openDatabase(
  file: string,
  { migrationsFolder, busyTimeoutMs = 10_000 }: { migrationsFolder: string; busyTimeoutMs?: number }
): OpenedDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const sqlite = new Database(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`)
  const db = drizzle({ client: sqlite, schema })
  migrate(db, { migrationsFolder })
  return { db, sqlite, close: () => sqlite.close() }
}
