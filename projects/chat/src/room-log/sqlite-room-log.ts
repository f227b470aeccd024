import { and, asc, desc, eq, gt, lt, max, sql } from 'drizzle-orm'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import type { AppendInput, AppendResult, ChatMessage, RoomLog } from './room-log.ts'
import { messages } from './sqlite-schema.ts'

/** The SQLite log also serves as the archive behind the Redis log (see redis-room-log.ts). */
export type SqliteRoomLog = RoomLog & {
  /** Stores messages that already have their seq (from the Redis log); a known one is skipped. */
  store(batch: readonly ChatMessage[]): void
}

export type SqliteRoomLogOptions = {
  /** A drizzle handle whose database has the `messages` table (sqlite-schema.ts) migrated in. */
  db: BetterSQLite3Database<Record<string, unknown>>
  now?: () => number
}

/**
 * The room log in one SQLite file: the embedded default. An append is one IMMEDIATE transaction
 * (look the client id up, take max(seq) + 1, insert), so the seq is gap-free and the message is
 * on disk (WAL) before `append` returns, which is before anyone is sent it.
 *
 * @example
 * ```ts
 * const log = createSqliteRoomLog({ db: drizzle({ client: new Database('chat.db') }) })
 * const { message } = await log.append({ room: 'general', sender: 'ada', clientId: 'c1', body: 'hi' })
 * message.seq // 1
 * ```
 */
export function createSqliteRoomLog({ db, now = Date.now }: SqliteRoomLogOptions): SqliteRoomLog {
  const findByClientId = db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.room, sql.placeholder('room')),
        eq(messages.sender, sql.placeholder('sender')),
        eq(messages.clientId, sql.placeholder('clientId'))
      )
    )
    .prepare()
  const headOf = db
    .select({ head: max(messages.seq) })
    .from(messages)
    .where(eq(messages.room, sql.placeholder('room')))
    .prepare()
  const insert = db.insert(messages).values({
    room: sql.placeholder('room'),
    seq: sql.placeholder('seq'),
    sender: sql.placeholder('sender'),
    clientId: sql.placeholder('clientId'),
    body: sql.placeholder('body'),
    at: sql.placeholder('at'),
  })
  const insertMessage = insert.prepare()
  const insertIfNew = insert.onConflictDoNothing().prepare()
  const pageAfter = db
    .select()
    .from(messages)
    .where(
      and(eq(messages.room, sql.placeholder('room')), gt(messages.seq, sql.placeholder('seq')))
    )
    .orderBy(asc(messages.seq))
    .limit(sql.placeholder('limit'))
    .prepare()
  const pageBefore = db
    .select()
    .from(messages)
    .where(
      and(eq(messages.room, sql.placeholder('room')), lt(messages.seq, sql.placeholder('seq')))
    )
    .orderBy(desc(messages.seq))
    .limit(sql.placeholder('limit'))
    .prepare()

  const head = (room: string): number => headOf.get({ room })?.head ?? 0

  function appendNow(input: AppendInput): AppendResult {
    return db.transaction(
      () => {
        const earlier = findByClientId.get(input)
        if (earlier) return { message: earlier, duplicate: true }
        const message: ChatMessage = { ...input, seq: head(input.room) + 1, at: now() }
        insertMessage.run(message)
        return { message, duplicate: false }
      },
      // IMMEDIATE takes the write lock first, so two processes on one file never read the same
      // max(seq) (the second waits on busy_timeout instead).
      { behavior: 'immediate' }
    )
  }

  const storeBatch = (batch: readonly ChatMessage[]) =>
    db.transaction(() => {
      for (const message of batch) insertIfNew.run(message)
    })

  // better-sqlite3 is synchronous: each call runs now and hands over its outcome (or its error)
  // as the promise RoomLog promises.
  return {
    append: (input) => settled(() => appendNow(input)),
    range: (room, { after, before, limit }) =>
      settled(() =>
        after !== undefined
          ? pageAfter.all({ room, seq: after, limit })
          : pageBefore.all({ room, seq: before ?? Number.MAX_SAFE_INTEGER, limit }).reverse()
      ),
    head: (room) => settled(() => head(room)),
    store(batch) {
      if (batch.length > 0) storeBatch(batch)
    },
    close: () => Promise.resolve(),
  }
}

/** `run()`'s value as a promise, or its error as a rejected one. */
function settled<T>(run: () => T): Promise<T> {
  return new Promise((resolve) => resolve(run()))
}
