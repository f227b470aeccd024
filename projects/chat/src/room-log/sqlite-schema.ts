import { integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

/**
 * Every room's messages in one table, keyed by (room, seq): a page of a room's history is one
 * range scan of the primary key. The unique (room, sender, client_id) index is what makes a
 * client's retry find its first copy instead of storing a second.
 */
export const messages = sqliteTable(
  'messages',
  {
    room: text('room').notNull(),
    seq: integer('seq').notNull(),
    sender: text('sender').notNull(),
    clientId: text('client_id').notNull(),
    body: text('body').notNull(),
    at: integer('at').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.room, table.seq] }),
    uniqueIndex('messages_room_sender_client_id').on(table.room, table.sender, table.clientId),
  ]
)
