import { and, asc, desc, eq, gt, isNull, lt, sql } from 'drizzle-orm'
import type { Db } from '../db/database.ts'
import { inboxItems } from '../db/schema.ts'

export type InboxItem = typeof inboxItems.$inferSelect

/** What the API shows of an item. */
export function itemView(item: InboxItem) {
  return {
    id: item.id,
    eventId: item.eventId,
    title: item.title,
    body: item.body,
    data: item.data,
    createdAt: new Date(item.createdAt).toISOString(),
    readAt: item.readAt === null ? null : new Date(item.readAt).toISOString(),
  }
}
export type InboxItemView = ReturnType<typeof itemView>

/**
 * The in-app inbox in SQLite. An item's id is its place in the subscriber's feed: pages walk it
 * backwards (newest first, `cursor` = the last id seen), and a live stream resumes after it.
 * One item per delivery (a unique index), so a retried delivery never shows twice.
 */
export function createInboxStore(db: Db, now: () => number = Date.now) {
  // Every in-app delivery runs it: built and compiled once (see DeliveryLog's prepared statements).
  let insertQuery: ReturnType<typeof prepareInsert> | undefined
  function prepareInsert() {
    const p = sql.placeholder
    return db
      .insert(inboxItems)
      .values({
        subscriberId: sql`${p('subscriberId')}`,
        deliveryId: sql`${p('deliveryId')}`,
        eventId: sql`${p('eventId')}`,
        title: sql`${p('title')}`,
        body: sql`${p('body')}`,
        // A placeholder skips the column's own encoding: the JSON text is passed as is.
        data: sql`${p('data')}`,
        createdAt: sql`${p('createdAt')}`,
        readAt: null,
      })
      .onConflictDoNothing()
      .returning()
      .prepare()
  }
  return {
    /** Adds the item of a delivery; undefined when that delivery already has one. */
    insert(item: Omit<InboxItem, 'id' | 'createdAt' | 'readAt'>): InboxItem | undefined {
      insertQuery ??= prepareInsert()
      return insertQuery.get({ ...item, data: JSON.stringify(item.data), createdAt: now() })
    },
    /** Newest first; pass the last page's `nextCursor` for the next one. */
    page(subscriberId: string, { cursor, limit }: { cursor?: number; limit: number }) {
      const items = db
        .select()
        .from(inboxItems)
        .where(
          and(
            eq(inboxItems.subscriberId, subscriberId),
            cursor === undefined ? undefined : lt(inboxItems.id, cursor)
          )
        )
        .orderBy(desc(inboxItems.id))
        .limit(limit + 1)
        .all()
      const more = items.length > limit
      const shown = items.slice(0, limit)
      return { items: shown, nextCursor: more ? shown.at(-1)!.id : null }
    },
    /** Items after `afterId`, oldest first (a stream's backfill). */
    after(subscriberId: string, afterId: number, limit: number): InboxItem[] {
      return db
        .select()
        .from(inboxItems)
        .where(and(eq(inboxItems.subscriberId, subscriberId), gt(inboxItems.id, afterId)))
        .orderBy(asc(inboxItems.id))
        .limit(limit)
        .all()
    },
    unreadCount(subscriberId: string): number {
      return (
        db
          .select({ count: sql<number>`count(*)` })
          .from(inboxItems)
          .where(and(eq(inboxItems.subscriberId, subscriberId), isNull(inboxItems.readAt)))
          .get()?.count ?? 0
      )
    },
    /** Answers the item, or undefined when the subscriber has no such item. */
    markRead(subscriberId: string, id: number): InboxItem | undefined {
      const at = now()
      return db
        .update(inboxItems)
        .set({ readAt: sql`coalesce(${inboxItems.readAt}, ${at})` })
        .where(and(eq(inboxItems.subscriberId, subscriberId), eq(inboxItems.id, id)))
        .returning()
        .get()
    },
    markAllRead(subscriberId: string): number {
      return db
        .update(inboxItems)
        .set({ readAt: now() })
        .where(and(eq(inboxItems.subscriberId, subscriberId), isNull(inboxItems.readAt)))
        .run().changes
    },
  }
}

export type InboxStore = ReturnType<typeof createInboxStore>
