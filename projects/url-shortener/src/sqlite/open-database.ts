import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { startWalCheckpointer } from './wal-checkpointer.ts'
import type { WalCheckpointer } from './wal-checkpointer.ts'

export type OpenDatabaseOptions<S extends Record<string, unknown>> = {
  /** The drizzle tables (for `db.query`); their migrations come from `migrationsFolder`. */
  schema: S
  /** The drizzle-kit output folder (`drizzle/`); its migrations run before the handle is returned. */
  migrationsFolder: string
  /** How long a writer waits for another process's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number
  /** Checkpoint the WAL on a worker thread (see wal-checkpointer.ts) instead of on commits. */
  backgroundCheckpoints?: boolean
  /** The checkpoint thread failed; the writer checkpoints again, as SQLite does by default. */
  onCheckpointerError?: (error: unknown) => void
}

export type OpenedDatabase<S extends Record<string, unknown>> = {
  db: BetterSQLite3Database<S>
  sqlite: Database.Database
  /** Present while checkpoints run on their own thread. */
  checkpointer: WalCheckpointer | undefined
  /** Ends the checkpoint thread, then closes the connection (which checkpoints the rest). */
  close(): Promise<void>
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
 * - checkpoints on a worker thread: the fsyncs that copy the WAL back never stall the event loop.
 *
 * @example
 * ```ts
 * const { db, close } = openDatabase('./data/url-shortener.db', {
 *   schema: { links },
 *   migrationsFolder: fileURLToPath(new URL('../drizzle', import.meta.url)),
 * })
 * ```
 */
export function openDatabase<S extends Record<string, unknown>>(
  file: string,
  {
    schema,
    migrationsFolder,
    busyTimeoutMs = 5000,
    backgroundCheckpoints = true,
    onCheckpointerError,
  }: OpenDatabaseOptions<S>
): OpenedDatabase<S> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const sqlite = new Database(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`)
  sqlite.pragma('foreign_keys = ON')
  // 64 MiB of page cache instead of 2: the code index of a few million links stays in memory,
  // so neither a redirect nor an insert into a random leaf reads a page back from the OS.
  sqlite.pragma('cache_size = -65536')
  const db = drizzle({ client: sqlite, schema })
  migrate(db, { migrationsFolder })
  const checkpointer =
    backgroundCheckpoints && file !== ':memory:'
      ? startWalCheckpointer({ sqlite, onError: onCheckpointerError })
      : undefined
  return {
    db,
    sqlite,
    checkpointer,
    async close() {
      // The thread's connection closes first, so this one is the last: SQLite then copies what
      // is left of the WAL and deletes it (a connection closing before another does not).
      await checkpointer?.stop()
      if (sqlite.open) sqlite.close()
    },
  }
}
