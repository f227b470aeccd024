import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import * as schema from './schema.ts'

export type Db = BetterSQLite3Database<typeof schema>

export type OpenDatabaseOptions = {
  /** The drizzle-kit output folder (`drizzle/`); its migrations run before the handle is returned. */
  migrationsFolder: string
  /** How long a writer waits for another process's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number
}

export type OpenedDatabase = {
  db: Db
  sqlite: Database.Database
  close(): void
}

/**
 * Opens (creating it and its folder if needed) the SQLite file, tunes it for a web service and
 * applies the committed migrations: the same path in production and in tests.
 *
 * - WAL: readers never block the writer and the writer never blocks readers (better-sqlite3
 *   README: "generally important ... for performance").
 * - synchronous=NORMAL: in WAL mode a commit survives a process crash; only an OS crash or
 *   power loss can lose the last commits. FULL would fsync every commit.
 * - busy_timeout: two instances on one file wait for each other's write lock instead of failing.
 *
 * @example
 * ```ts
 * const { db, close } = openDatabase('./data/url-shortener.db', {
 *   migrationsFolder: fileURLToPath(new URL('../drizzle', import.meta.url)),
 * })
 * ```
 */
export function openDatabase(
  file: string,
  { migrationsFolder, busyTimeoutMs = 5000 }: OpenDatabaseOptions
): OpenedDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const sqlite = new Database(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`)
  sqlite.pragma('foreign_keys = ON')
  const db = drizzle({ client: sqlite, schema })
  migrate(db, { migrationsFolder })
  return {
    db,
    sqlite,
    close() {
      if (sqlite.open) sqlite.close()
    },
  }
}
