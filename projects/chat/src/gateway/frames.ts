// zod as @hono/zod-openapi extends it, so the HTTP routes can describe these same schemas.
import { z } from '@hono/zod-openapi'

/** A room id: `g-…` for groups, `dm:<a>:<b>` for direct conversations. */
export const RoomId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 _ . : -')

/** Lower-case user ids; `:` and `|` are left out (direct room ids and presence entries use them). */
export const UserId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_.-]{0,31}$/,
    'must be 1-32 characters of a-z 0-9 _ . - (starting with a-z 0-9)'
  )

export const MAX_BODY_LENGTH = 16 * 1024
const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)

/**
 * Every frame a client may send. Unknown fields are refused (a typo must not pass silently),
 * and the error frame names each field at fault.
 */
export const ClientFrame = z.discriminatedUnion('type', [
  /** Start receiving a room: the messages after `since` first (default: the last one read). */
  z.strictObject({ type: z.literal('join'), room: RoomId, since: Seq.optional() }),
  /** Stop receiving a room; in a group, also stop being a member. */
  z.strictObject({ type: z.literal('leave'), room: RoomId }),
  /** A message; `clientId` makes a retry of it the same message. */
  z.strictObject({
    type: z.literal('send'),
    room: RoomId,
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . : -'),
    body: z.string().min(1).max(MAX_BODY_LENGTH),
  }),
  z.strictObject({ type: z.literal('typing'), room: RoomId }),
  /** The read receipt: every message up to `seq` was read. */
  z.strictObject({ type: z.literal('read'), room: RoomId, seq: Seq }),
])
export type ClientFrame = z.infer<typeof ClientFrame>

/** A field at fault, as in the HTTP problem details. */
export type FrameFieldError = { path: string; message: string }

/** What the server sends when a frame is refused; the connection stays open. */
export type ErrorFrame = {
  type: 'error'
  code: string
  detail: string
  errors?: FrameFieldError[]
  /** The refused frame's room and clientId, when it had them, so a client can match it up. */
  room?: string
  clientId?: string
  retryAfterMs?: number
}

/** zod issues as `{ path, message }`, the same shape as the HTTP problems' `errors`. */
export function fieldErrors(error: z.ZodError): FrameFieldError[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String)
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...base, key].join('.'), message: 'unknown field' }))
    }
    return [{ path: base.join('.'), message: issue.message }]
  })
}
