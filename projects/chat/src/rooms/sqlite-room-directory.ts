import { and, eq, sql } from 'drizzle-orm'
import type { Db } from '../db/database.ts'
import { roomMembers, rooms } from '../db/schema.ts'
import { directRoomId, type Member, type Room, type RoomDirectory } from './room-directory.ts'

/**
 * The directory in the SQLite file (the embedded default).
 *
 * @example
 * ```ts
 * const directory = createSqliteRoomDirectory({ db })
 * ```
 */
export function createSqliteRoomDirectory({
  db,
  now = Date.now,
}: {
  db: Db
  now?: () => number
}): RoomDirectory {
  const memberOf = (room: string, user: string): Member | undefined =>
    db
      .select({
        user: roomMembers.user,
        joinedAt: roomMembers.joinedAt,
        lastRead: roomMembers.lastRead,
      })
      .from(roomMembers)
      .where(and(eq(roomMembers.room, room), eq(roomMembers.user, user)))
      .get()

  const addMember = (room: string, user: string, lastRead: number) =>
    db
      .insert(roomMembers)
      .values({ room, user, joinedAt: now(), lastRead })
      .onConflictDoNothing()
      .run().changes === 1

  return {
    createGroup: ({ id, name, createdBy, lastRead }) =>
      settled(() => {
        const room: Room = { id, kind: 'group', name, createdBy, createdAt: now() }
        db.transaction(() => {
          db.insert(rooms).values(room).run()
          addMember(id, createdBy, lastRead)
        })
        return room
      }),

    openDirect: (a, b) =>
      settled(() => {
        const id = directRoomId(a, b)
        return db.transaction(() => {
          const existing = db.select().from(rooms).where(eq(rooms.id, id)).get()
          if (existing) return { room: existing, created: false }
          const room: Room = {
            id,
            kind: 'direct',
            name: `${[a, b].sort().join(' & ')}`,
            createdBy: a,
            createdAt: now(),
          }
          db.insert(rooms).values(room).run()
          addMember(id, a, 0)
          addMember(id, b, 0)
          return { room, created: true }
        })
      }),

    get: (id) => settled(() => db.select().from(rooms).where(eq(rooms.id, id)).get()),

    join: (room, user, lastRead) => settled(() => addMember(room, user, lastRead)),

    leave: (room, user) =>
      settled(
        () =>
          db
            .delete(roomMembers)
            .where(and(eq(roomMembers.room, room), eq(roomMembers.user, user)))
            .run().changes === 1
      ),

    member: (room, user) => settled(() => memberOf(room, user)),

    members: (room) =>
      settled(() =>
        db
          .select({
            user: roomMembers.user,
            joinedAt: roomMembers.joinedAt,
            lastRead: roomMembers.lastRead,
          })
          .from(roomMembers)
          .where(eq(roomMembers.room, room))
          .orderBy(roomMembers.user)
          .all()
      ),

    roomsOf: (user) =>
      settled(() =>
        db
          .select({ room: rooms, lastRead: roomMembers.lastRead })
          .from(roomMembers)
          .innerJoin(rooms, eq(rooms.id, roomMembers.room))
          .where(eq(roomMembers.user, user))
          .orderBy(rooms.id)
          .all()
      ),

    markRead: (room, user, seq) =>
      settled(() => {
        const row = db
          .update(roomMembers)
          .set({ lastRead: sql`max(${roomMembers.lastRead}, ${seq})` })
          .where(and(eq(roomMembers.room, room), eq(roomMembers.user, user)))
          .returning({ lastRead: roomMembers.lastRead })
          .get()
        return row?.lastRead ?? 0
      }),
  }
}

/** better-sqlite3 is synchronous: `run()`'s value as a promise, or its error as a rejected one. */
function settled<T>(run: () => T): Promise<T> {
  return new Promise((resolve) => resolve(run()))
}
