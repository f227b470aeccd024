import type { Logger } from 'pino'
import { WebSocket, type RawData } from 'ws'
import type { RoomHub } from '../fan-out/room-hub.ts'
import type { Presence } from '../presence/presence.ts'
import type { createThrottle } from '../presence/typing-throttle.ts'
import type { ChatMessage, RoomLog } from '../room-log/room-log.ts'
import type { RoomDirectory } from '../rooms/room-directory.ts'
import { createHeartbeat } from '../ws-guards/heartbeat.ts'
import { createTokenBucket } from '../ws-guards/token-bucket.ts'
import { ClientFrame, fieldErrors, type ErrorFrame, type FrameFieldError } from './frames.ts'

/** Close codes (RFC 6455 § 7.4.1). */
export const CLOSE = { goingAway: 1001, policyViolation: 1008 } as const

/** The JSON a client receives for a message, live or back-filled: the same bytes either way. */
export function encodeMessage(m: ChatMessage): string {
  return JSON.stringify({
    type: 'message',
    room: m.room,
    seq: m.seq,
    sender: m.sender,
    clientId: m.clientId,
    body: m.body,
    at: m.at,
  })
}

export type GatewayOptions = {
  log: RoomLog
  directory: RoomDirectory
  hub: RoomHub<ChatMessage>
  presence: Presence
  typing: ReturnType<typeof createThrottle>
  /** Ping interval; a socket that misses one pong is terminated at the next. */
  heartbeatMs: number
  /** Frames a connection may send per window (all kinds count). */
  rateLimit: { capacity: number; windowMs: number }
  maxPayloadBytes: number
  logger: Logger
}

export type GatewayStats = {
  connections: number
  messages: number
  duplicates: number
  rejectedFrames: Record<string, number>
  heartbeatTerminated: number
}

type Connection = {
  user: string
  ws: WebSocket
  bucket: ReturnType<typeof createTokenBucket>
  /** Rooms this connection joined (live or being back-filled). */
  rooms: Set<string>
  release: () => void
}

/** A refusal sent as an error frame; the connection stays open. */
class FrameError extends Error {
  constructor(
    readonly code: string,
    detail: string,
    readonly errors?: FrameFieldError[],
    readonly extra: Partial<ErrorFrame> = {}
  ) {
    super(detail)
  }
}

const send = (ws: WebSocket, frame: object) => {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame))
}

/**
 * The chat protocol over accepted WebSockets: every frame is rate limited, parsed and checked
 * with zod (a bad one gets an error frame naming the field; the connection stays open), then
 * handled: join (back-fill, then live), leave, send (stored, acknowledged, then published),
 * typing (throttled), read (receipt). Presence follows the connections, heartbeats reap dead
 * peers.
 *
 * @example
 * ```ts
 * const gateway = createChatGateway({ log, directory, hub, presence, typing, ... })
 * gateway.accept(ws, 'ada', release)
 * await gateway.closeAll(1001, 'server shutting down')
 * ```
 */
export function createChatGateway({
  log,
  directory,
  hub,
  presence,
  typing,
  heartbeatMs,
  rateLimit,
  maxPayloadBytes,
  logger,
}: GatewayOptions) {
  const connections = new Set<Connection>()
  const stats: Omit<GatewayStats, 'connections'> = {
    messages: 0,
    duplicates: 0,
    rejectedFrames: {},
    heartbeatTerminated: 0,
  }
  const heartbeat = createHeartbeat({
    intervalMs: heartbeatMs,
    onTerminate: () => stats.heartbeatTerminated++,
  })

  const publishEvent = (room: string, event: object) =>
    hub.publishEvent(room, JSON.stringify(event)).catch((err: unknown) => {
      logger.warn({ err, room }, 'event not published')
    })

  function refuse(conn: Connection, error: FrameError) {
    stats.rejectedFrames[error.code] = (stats.rejectedFrames[error.code] ?? 0) + 1
    const frame: ErrorFrame = {
      type: 'error',
      code: error.code,
      detail: error.message,
      ...(error.errors && { errors: error.errors }),
      ...error.extra,
    }
    send(conn.ws, frame)
  }

  /** The frame, parsed and checked; throws a FrameError naming what is wrong. */
  function parse(data: RawData, isBinary: boolean): ClientFrame {
    if (isBinary) {
      throw new FrameError('invalid_frame', 'Frames are JSON text, not binary', [
        { path: '', message: 'binary frames are not accepted' },
      ])
    }
    let json: unknown
    try {
      // A Buffer: ws hands text frames over as one Buffer while binaryType is 'nodebuffer'.
      json = JSON.parse((data as Buffer).toString())
    } catch {
      throw new FrameError('malformed_json', 'The frame is not valid JSON')
    }
    const parsed = ClientFrame.safeParse(json)
    if (parsed.success) return parsed.data
    const echo = (key: 'room' | 'clientId') => {
      const value = (json as Record<string, unknown> | null)?.[key]
      return typeof value === 'string' && value.length <= 100 ? { [key]: value } : {}
    }
    throw new FrameError(
      'invalid_frame',
      'The frame does not match the protocol',
      fieldErrors(parsed.error),
      {
        ...echo('room'),
        ...echo('clientId'),
      }
    )
  }

  const joinedOrRefuse = (conn: Connection, room: string, extra: Partial<ErrorFrame> = {}) => {
    if (!conn.rooms.has(room) || !hub.roomsOf(conn.ws).has(room)) {
      throw new FrameError(
        'not_joined',
        `Join ${room} first`,
        [{ path: 'room', message: 'not joined' }],
        {
          room,
          ...extra,
        }
      )
    }
  }

  async function handle(conn: Connection, frame: ClientFrame): Promise<void> {
    switch (frame.type) {
      case 'join': {
        const room = await directory.get(frame.room)
        if (!room) {
          throw new FrameError(
            'room_not_found',
            `No room ${frame.room}`,
            [{ path: 'room', message: 'no such room' }],
            {
              room: frame.room,
            }
          )
        }
        let member = await directory.member(room.id, conn.user)
        if (!member) {
          if (room.kind === 'direct') {
            throw new FrameError(
              'forbidden',
              'Not a participant of this conversation',
              [{ path: 'room', message: 'not a participant' }],
              { room: room.id }
            )
          }
          // A new member's unread count starts where they join; older history is a page away.
          const head = await log.head(room.id)
          await directory.join(room.id, conn.user, head)
          member = { user: conn.user, joinedAt: Date.now(), lastRead: head }
          void publishEvent(room.id, {
            type: 'member',
            room: room.id,
            user: conn.user,
            joined: true,
          })
        }
        const since = frame.since ?? member.lastRead
        const rejoin = conn.rooms.has(room.id)
        conn.rooms.add(room.id)
        const live = await hub.join(conn.ws, room.id, { since })
        if (!rejoin && (await presence.enter(room.id, conn.user))) {
          void publishEvent(room.id, {
            type: 'presence',
            room: room.id,
            user: conn.user,
            online: true,
          })
        }
        send(conn.ws, {
          type: 'joined',
          room: room.id,
          since,
          live,
          online: await presence.online(room.id),
        })
        return
      }

      case 'leave': {
        hub.leave(conn.ws, frame.room)
        if (conn.rooms.delete(frame.room)) await exitRoom(conn, frame.room)
        const room = await directory.get(frame.room)
        if (room?.kind === 'group' && (await directory.leave(room.id, conn.user))) {
          void publishEvent(room.id, {
            type: 'member',
            room: room.id,
            user: conn.user,
            joined: false,
          })
        }
        send(conn.ws, { type: 'left', room: frame.room })
        return
      }

      case 'send': {
        joinedOrRefuse(conn, frame.room, { clientId: frame.clientId })
        const { message, duplicate } = await log.append({
          room: frame.room,
          sender: conn.user,
          clientId: frame.clientId,
          body: frame.body,
        })
        // Stored: acknowledge, then publish. A lost publish is filled from the log.
        send(conn.ws, {
          type: 'ack',
          room: message.room,
          clientId: message.clientId,
          seq: message.seq,
          duplicate,
        })
        if (duplicate) {
          stats.duplicates++
          return
        }
        stats.messages++
        await hub.publish(message).catch((err: unknown) => {
          logger.warn(
            { err, room: message.room, seq: message.seq },
            'stored message not published: the resync fills it in'
          )
        })
        return
      }

      case 'typing': {
        joinedOrRefuse(conn, frame.room)
        if (typing.allow(`${frame.room}\n${conn.user}`)) {
          void publishEvent(frame.room, { type: 'typing', room: frame.room, user: conn.user })
        }
        return
      }

      case 'read': {
        joinedOrRefuse(conn, frame.room)
        const head = await log.head(frame.room)
        if (frame.seq > head) {
          throw new FrameError(
            'invalid_frame',
            'The frame does not match the protocol',
            [{ path: 'seq', message: `must be at most the room's last seq (${head})` }],
            { room: frame.room }
          )
        }
        const lastRead = await directory.markRead(frame.room, conn.user, frame.seq)
        void publishEvent(frame.room, {
          type: 'read',
          room: frame.room,
          user: conn.user,
          seq: lastRead,
        })
        return
      }
    }
  }

  async function exitRoom(conn: Connection, room: string) {
    if (await presence.exit(room, conn.user)) {
      void publishEvent(room, { type: 'presence', room, user: conn.user, online: false })
    }
  }

  function onMessage(conn: Connection, data: RawData, isBinary: boolean) {
    const { allowed, retryAfterMs } = conn.bucket.take()
    if (!allowed) {
      refuse(
        conn,
        new FrameError('rate_limited', 'Too many frames; slow down', undefined, { retryAfterMs })
      )
      return
    }
    let frame: ClientFrame
    try {
      frame = parse(data, isBinary)
    } catch (error) {
      refuse(conn, error as FrameError)
      return
    }
    handle(conn, frame).catch((error: unknown) => {
      if (error instanceof FrameError) {
        refuse(conn, error)
        return
      }
      // A store that does not answer (Redis down): the client retries the same frame later.
      logger.warn({ err: error, user: conn.user, frame: frame.type }, 'frame failed')
      const ref = 'room' in frame ? { room: frame.room } : {}
      const clientId = frame.type === 'send' ? { clientId: frame.clientId } : {}
      refuse(
        conn,
        new FrameError('unavailable', 'Temporarily unavailable; retry', undefined, {
          ...ref,
          ...clientId,
          retryAfterMs: 1000,
        })
      )
    })
  }

  // One listener of each kind for every socket, finding its connection by the socket (`this`):
  // a connection costs its own state, not three closures and a `once` wrapper.
  const connectionOf = new WeakMap<WebSocket, Connection>()
  function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean) {
    const conn = connectionOf.get(this)
    if (conn) onMessage(conn, data, isBinary)
  }
  function onSocketError(this: WebSocket, err: Error) {
    logger.debug({ err, user: connectionOf.get(this)?.user }, 'socket error')
  }
  function onSocketClose(this: WebSocket) {
    const conn = connectionOf.get(this)
    if (!conn) return
    connectionOf.delete(this)
    connections.delete(conn)
    hub.disconnect(this)
    conn.release()
    for (const room of conn.rooms) {
      exitRoom(conn, room).catch((err: unknown) =>
        logger.warn({ err, room }, 'presence exit failed')
      )
    }
  }

  return {
    /** Takes an authenticated socket; `release` frees the user's connection slot on close. */
    accept(ws: WebSocket, user: string, release: () => void): void {
      const conn: Connection = {
        user,
        ws,
        bucket: createTokenBucket(rateLimit),
        rooms: new Set(),
        release,
      }
      connections.add(conn)
      connectionOf.set(ws, conn)
      heartbeat.track(ws)
      ws.on('message', onSocketMessage)
      ws.on('error', onSocketError)
      ws.on('close', onSocketClose)
      send(ws, { type: 'hello', user, heartbeatMs, maxPayload: maxPayloadBytes })
    },

    /** Closes every socket of `user` (logout): 1008, the client must not reconnect with that token. */
    closeUser(user: string): number {
      let closed = 0
      for (const conn of connections) {
        if (conn.user !== user) continue
        conn.ws.close(CLOSE.policyViolation, 'logged out')
        closed++
      }
      return closed
    },

    /** Closes every socket with `code` and waits (at most `timeoutMs`) for them to go. */
    async closeAll(code: number, reason: string, timeoutMs = 3000): Promise<void> {
      const all = [...connections]
      const gone = Promise.all(
        all
          .filter((conn) => conn.ws.readyState !== WebSocket.CLOSED)
          .map((conn) => new Promise<void>((resolve) => conn.ws.once('close', () => resolve())))
      )
      for (const conn of all) conn.ws.close(code, reason)
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>(
        (resolve) => (timer = setTimeout(resolve, timeoutMs, 'late'))
      )
      if ((await Promise.race([gone, late])) === 'late') for (const conn of all) conn.ws.terminate()
      clearTimeout(timer)
    },

    /** Refreshes this instance's presence and reports the users whose entries expired. */
    async presenceTick(): Promise<void> {
      await presence.refresh()
      for (const room of presence.rooms()) {
        for (const user of await presence.sweep(room)) {
          void publishEvent(room, { type: 'presence', room, user, online: false })
        }
      }
    },

    stats(): GatewayStats {
      return {
        ...stats,
        rejectedFrames: { ...stats.rejectedFrames },
        connections: connections.size,
      }
    },

    close(): void {
      heartbeat.stop()
    },
  }
}

export type ChatGateway = ReturnType<typeof createChatGateway>
