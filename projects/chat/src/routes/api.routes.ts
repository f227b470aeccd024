import { randomBytes } from 'node:crypto'
import { createRoute, z } from '@hono/zod-openapi'
import { createOpenApiApp, HttpError, jsonBody, jsonResponse, problemResponses } from '@kit/http'
import type { Tokens } from '../auth/tokens.ts'
import type { Presence } from '../presence/presence.ts'
import type { ChatMessage, RoomLog } from '../room-log/room-log.ts'
import type { Room, RoomDirectory } from '../rooms/room-directory.ts'
import { requireUser, type AuthEnv } from './auth.ts'
import {
  CreateGroup,
  HistoryPage,
  HistoryQuery,
  MemberView,
  MyRoomView,
  OpenDirect,
  ReadReceipt,
  ReadView,
  RoomParam,
  RoomView,
  TokenRequest,
  TokenView,
} from './schemas.ts'

export type ApiDeps = {
  tokens: Tokens
  log: RoomLog
  directory: RoomDirectory
  presence: Presence
  /** Closes the user's sockets on every instance (logout). */
  onLogout: (user: string) => Promise<void>
  /** Broadcasts an event to a room's sockets (a read receipt set over HTTP). */
  publishEvent: (room: string, event: object) => Promise<void>
}

const bearer = [{ bearerAuth: [] }]
const roomPath = z.object({ room: RoomParam })

const notFound = (room: string) =>
  new HttpError(404, 'room_not_found', `No room ${room}`, {
    errors: [{ path: 'room', message: 'no such room' }],
  })
const notMember = (room: string) =>
  new HttpError(403, 'not_a_member', `You are not a member of ${room}`, {
    errors: [{ path: 'room', message: 'not a member' }],
  })

/**
 * Everything that is not live, under /api: tokens (the demo's login), rooms, members, history
 * pages and read receipts. Every route but POST /api/tokens needs a bearer token.
 */
export function createApiRoutes({
  tokens,
  log,
  directory,
  presence,
  onLogout,
  publishEvent,
}: ApiDeps) {
  const app = createOpenApiApp<AuthEnv>()
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  })
  const auth = requireUser(tokens)

  /** The room, if the caller may read it; 404 / 403 problems otherwise. */
  async function roomOf(id: string, user: string): Promise<Room> {
    const room = await directory.get(id)
    if (!room) throw notFound(id)
    if (!(await directory.member(id, user))) throw notMember(id)
    return room
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/tokens',
      summary: 'Issue a token for a user (the demo login; put your own authentication here)',
      request: { body: jsonBody(TokenRequest) },
      responses: {
        201: jsonResponse(TokenView, 'A signed token that expires'),
        ...problemResponses(400),
      },
    }),
    async (c) => c.json(await tokens.issue(c.req.valid('json').user), 201)
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/logout',
      summary: "Revoke every token of the caller and close the caller's sockets (1008)",
      security: bearer,
      middleware: [auth] as const,
      responses: { 204: { description: 'Logged out everywhere' }, ...problemResponses(401, 503) },
    }),
    async (c) => {
      const user = c.get('user')
      await tokens.revokeAll(user)
      await onLogout(user)
      return c.body(null, 204)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/rooms',
      summary: 'Your rooms, with unread counts (what you missed while offline)',
      security: bearer,
      middleware: [auth] as const,
      responses: {
        200: jsonResponse(z.object({ rooms: z.array(MyRoomView) }), 'Your rooms'),
        ...problemResponses(401),
      },
    }),
    async (c) => {
      const mine = await directory.roomsOf(c.get('user'))
      const rooms = await Promise.all(
        mine.map(async ({ room, lastRead }) => {
          const head = await log.head(room.id)
          return { ...room, head, lastRead, unread: Math.max(0, head - lastRead) }
        })
      )
      return c.json({ rooms }, 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/rooms',
      summary: 'Create a group room; you are its first member',
      security: bearer,
      middleware: [auth] as const,
      request: { body: jsonBody(CreateGroup) },
      responses: { 201: jsonResponse(RoomView, 'The new room'), ...problemResponses(400, 401) },
    }),
    async (c) => {
      const id = `g-${randomBytes(8)
        .toString('base64url')
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '0')}`
      const room = await directory.createGroup({
        id,
        name: c.req.valid('json').name,
        createdBy: c.get('user'),
        lastRead: 0,
      })
      return c.json(room, 201)
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/rooms/direct',
      summary: 'Open the direct conversation with another user (the same room every time)',
      security: bearer,
      middleware: [auth] as const,
      request: { body: jsonBody(OpenDirect) },
      responses: {
        200: jsonResponse(RoomView, 'The conversation existed'),
        201: jsonResponse(RoomView, 'The conversation was created'),
        ...problemResponses(400, 401),
      },
    }),
    async (c) => {
      const other = c.req.valid('json').with
      const user = c.get('user')
      if (other === user) {
        throw new HttpError(400, 'validation_failed', 'Invalid request body', {
          errors: [{ path: 'with', message: 'must be another user' }],
        })
      }
      const { room, created } = await directory.openDirect(user, other)
      return created ? c.json(room, 201) : c.json(room, 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/rooms/{room}',
      security: bearer,
      middleware: [auth] as const,
      request: { params: roomPath },
      responses: { 200: jsonResponse(RoomView, 'The room'), ...problemResponses(400, 401, 404) },
    }),
    async (c) => {
      const room = await directory.get(c.req.valid('param').room)
      if (!room) throw notFound(c.req.valid('param').room)
      return c.json(room, 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/rooms/{room}/members',
      summary: 'Members, their read receipts and who is online',
      security: bearer,
      middleware: [auth] as const,
      request: { params: roomPath },
      responses: {
        200: jsonResponse(z.object({ members: z.array(MemberView) }), 'The members'),
        ...problemResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const room = await roomOf(c.req.valid('param').room, c.get('user'))
      const [members, online] = await Promise.all([
        directory.members(room.id),
        presence.online(room.id),
      ])
      const here = new Set(online)
      return c.json({ members: members.map((m) => ({ ...m, online: here.has(m.user) })) }, 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/rooms/{room}/members',
      summary: 'Join a group room',
      security: bearer,
      middleware: [auth] as const,
      request: { params: roomPath },
      responses: {
        200: jsonResponse(RoomView, 'Already a member'),
        201: jsonResponse(RoomView, 'Joined'),
        ...problemResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const id = c.req.valid('param').room
      const room = await directory.get(id)
      if (!room) throw notFound(id)
      if (room.kind === 'direct') {
        if (await directory.member(id, c.get('user'))) return c.json(room, 200)
        throw notMember(id)
      }
      const joined = await directory.join(id, c.get('user'), await log.head(id))
      return joined ? c.json(room, 201) : c.json(room, 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/rooms/{room}/members/me',
      summary: 'Leave a group room',
      security: bearer,
      middleware: [auth] as const,
      request: { params: roomPath },
      responses: { 204: { description: 'Left' }, ...problemResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => {
      const room = await roomOf(c.req.valid('param').room, c.get('user'))
      if (room.kind === 'direct') {
        throw new HttpError(409, 'direct_room', 'A direct conversation cannot be left')
      }
      await directory.leave(room.id, c.get('user'))
      return c.body(null, 204)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/rooms/{room}/messages',
      summary: 'A page of history, by seq: `after` pages forward, `before` (or nothing) backward',
      security: bearer,
      middleware: [auth] as const,
      request: { params: roomPath, query: HistoryQuery },
      responses: {
        200: jsonResponse(HistoryPage, 'A page, ascending by seq'),
        ...problemResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const room = await roomOf(c.req.valid('param').room, c.get('user'))
      const { after, before, limit } = c.req.valid('query')
      const [messages, head]: [ChatMessage[], number] = await Promise.all([
        log.range(room.id, {
          limit,
          ...(after !== undefined ? { after } : before !== undefined ? { before } : {}),
        }),
        log.head(room.id),
      ])
      const first = messages[0]?.seq
      const last = messages.at(-1)?.seq
      return c.json(
        {
          messages,
          prev: first !== undefined && first > 1 ? first : null,
          next: last !== undefined && last < head ? last : null,
        },
        200
      )
    }
  )

  app.openapi(
    createRoute({
      method: 'put',
      path: '/rooms/{room}/read',
      summary: 'Set your read receipt (it only moves forward)',
      security: bearer,
      middleware: [auth] as const,
      request: { params: roomPath, body: jsonBody(ReadReceipt) },
      responses: {
        200: jsonResponse(ReadView, 'Your receipt now'),
        ...problemResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const room = await roomOf(c.req.valid('param').room, c.get('user'))
      const { seq } = c.req.valid('json')
      const head = await log.head(room.id)
      if (seq > head) {
        throw new HttpError(400, 'validation_failed', 'Invalid request body', {
          errors: [{ path: 'seq', message: `must be at most the room's last seq (${head})` }],
        })
      }
      const lastRead = await directory.markRead(room.id, c.get('user'), seq)
      await publishEvent(room.id, {
        type: 'read',
        room: room.id,
        user: c.get('user'),
        seq: lastRead,
      })
      return c.json({ room: room.id, lastRead }, 200)
    }
  )

  return app
}
