import { z } from '@hono/zod-openapi'
import { RoomId, UserId } from '../gateway/frames.ts'

export const UserParam = UserId.openapi({ example: 'ada' })
export const RoomParam = RoomId.openapi({ example: 'g-k3v9x2m1qa' })

export const TokenRequest = z.strictObject({ user: UserParam }).openapi('TokenRequest')
export const TokenView = z
  .object({
    token: z.string().openapi({ description: 'HS256 JWT; send as `Authorization: Bearer …`' }),
    user: UserParam,
    expiresAt: z.number().int().openapi({ description: 'ms since the epoch' }),
  })
  .openapi('Token')

export const RoomView = z
  .object({
    id: RoomParam,
    kind: z.enum(['group', 'direct']),
    name: z.string(),
    createdBy: UserParam,
    createdAt: z.number().int(),
  })
  .openapi('Room')

export const MyRoomView = RoomView.extend({
  head: z.number().int().openapi({ description: 'The last seq in the room' }),
  lastRead: z.number().int().openapi({ description: 'Your read receipt' }),
  unread: z.number().int(),
}).openapi('MyRoom')

export const CreateGroup = z
  .strictObject({ name: z.string().trim().min(1).max(100) })
  .openapi('CreateGroup')
export const OpenDirect = z.strictObject({ with: UserParam }).openapi('OpenDirect')

export const MemberView = z
  .object({
    user: UserParam,
    joinedAt: z.number().int(),
    lastRead: z.number().int(),
    online: z.boolean(),
  })
  .openapi('Member')

export const MessageView = z
  .object({
    room: RoomParam,
    seq: z.number().int(),
    sender: UserParam,
    clientId: z.string(),
    body: z.string(),
    at: z.number().int(),
  })
  .openapi('Message')

const Cursor = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
export const HistoryQuery = z
  .strictObject({
    after: Cursor.optional().openapi({ description: 'Oldest page after this seq (exclusive)' }),
    before: Cursor.optional().openapi({ description: 'Newest page before this seq (exclusive)' }),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((q) => q.after === undefined || q.before === undefined, {
    path: ['before'],
    message: 'give after or before, not both',
  })

export const HistoryPage = z
  .object({
    messages: z.array(MessageView).openapi({ description: 'Ascending by seq' }),
    prev: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'Pass as `before` for the older page; null at the start' }),
    next: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'Pass as `after` for the newer page; null at the end' }),
  })
  .openapi('HistoryPage')

export const ReadReceipt = z.strictObject({ seq: z.number().int().min(0) }).openapi('ReadReceipt')
export const ReadView = z
  .object({ room: RoomParam, lastRead: z.number().int() })
  .openapi('ReadState')
