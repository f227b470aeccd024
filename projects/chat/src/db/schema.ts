import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

// The room log's table belongs to its pattern folder; migrations cover it from here.
export { messages } from '../room-log/sqlite-schema.ts'

/** Group rooms and direct (1:1) conversations. */
export const rooms = sqliteTable('rooms', {
  id: text('id').primaryKey(),
  kind: text('kind', { enum: ['group', 'direct'] }).notNull(),
  name: text('name').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: integer('created_at').notNull(),
})

/** Who is in a room, and the last seq each member has read (their read receipt). */
export const roomMembers = sqliteTable(
  'room_members',
  {
    room: text('room')
      .notNull()
      .references(() => rooms.id, { onDelete: 'cascade' }),
    user: text('user').notNull(),
    joinedAt: integer('joined_at').notNull(),
    lastRead: integer('last_read').notNull().default(0),
  },
  (table) => [
    primaryKey({ columns: [table.room, table.user] }),
    index('room_members_user').on(table.user),
  ]
)
