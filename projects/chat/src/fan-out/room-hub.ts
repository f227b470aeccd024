import { WebSocket } from 'ws'
import type { Bus } from './bus.ts'
import { prepareTextFrame, sendPreparedFrame } from './prepared-frame.ts'

/** The part of a room log the hub reads: pages after a seq, and the last seq. */
export type HubLog<M extends { seq: number }> = {
  range(room: string, query: { after: number; limit: number }): Promise<M[]>
  head(room: string): Promise<number>
}

/**
 * What happens to a socket whose unsent bytes pass the high watermark:
 * - 'drop': nothing more is written to it for that room, and a `resync` frame queued behind its
 *   backlog tells the client to join again from the last seq it saw (the log fills the gap);
 * - 'disconnect': the socket is terminated at once (its memory is freed); the client reconnects
 *   and resumes the same way.
 */
export type SlowConsumerPolicy = 'drop' | 'disconnect'

export type RoomHubOptions<M extends { room: string; seq: number }> = {
  log: HubLog<M>
  /** Makes the bus the hub publishes to and receives from (so the bus can call `receive`). */
  bus: (receive: (room: string, payload: Buffer) => void) => Bus
  /** The JSON text a client receives for a message; the same for a live and a back-filled one. */
  encode: (message: M) => string
  /** The frame that tells a client it missed messages of `room`; default `{"type":"resync",...}`. */
  resyncFrame?: (room: string) => string
  /** Bytes a socket may have queued before the policy applies. Default 1 MiB. */
  highWaterMark?: number
  policy?: SlowConsumerPolicy
  /** Messages per page when a joining socket is back-filled. Default 200. */
  pageSize?: number
  /** Back-fill or gap-fill failed (the log is down); the next resync() tries again. */
  onError?: (error: unknown, room: string) => void
}

export type HubStats = {
  /** Rooms with local sockets (or being joined). */
  rooms: number
  /** Messages framed (once each, however many sockets receive them). */
  framed: number
  /** Message copies written to sockets, live or back-filled. */
  deliveries: number
  /** Messages read back from the log to fill a gap the bus left. */
  gapFilled: number
  /** Times a socket went over the high watermark. */
  slowConsumers: number
}

type RoomState = {
  sockets: Set<WebSocket>
  /** Sockets on their way in (back-fill in progress). */
  joining: number
  /** The last seq broadcast to this room's sockets, in order, with no gap. */
  delivered: number
  ready: Promise<void> | undefined
  initialized: boolean
  /** Messages that arrived ahead of a gap (or before the room was initialized), by seq. */
  early: Map<number, Buffer>
  filling: boolean
  /** Frames waiting for this tick's write: one write per socket per tick however many. */
  pending: Buffer[]
  pendingMessages: number
}

const MAX_EARLY = 10_000

/**
 * Fans a room's messages out to this instance's sockets, in seq order, each exactly once:
 *
 * - a message is framed once (prepared-frame.ts) and the same bytes go to every socket; frames
 *   of one tick are written with one write per socket;
 * - messages come from the bus, which may lose or repeat them: a seq already delivered is
 *   dropped, a seq past a gap waits while the gap is read from the log;
 * - a socket that joins with `since` is back-filled from the log page by page up to what the
 *   room delivered, then added to the room in the same tick: nothing missed, nothing twice;
 * - a socket over the high watermark is handled by the slow-consumer policy.
 *
 * Store the message in the log before `publish` (the gap fill reads it from there).
 *
 * @example
 * ```ts
 * const hub = createRoomHub({
 *   log,
 *   bus: (receive) => createLocalBus({ onMessage: receive }),
 *   encode: (m) => JSON.stringify({ type: 'message', ...m }),
 * })
 * await hub.join(ws, 'general', { since: 41 })   // seqs 42.. then live
 * const { message } = await log.append(input)
 * await hub.publish(message)
 * ```
 */
export function createRoomHub<M extends { room: string; seq: number }>({
  log,
  bus: createBus,
  encode,
  resyncFrame = (room) => JSON.stringify({ type: 'resync', room }),
  highWaterMark = 1024 * 1024,
  policy = 'drop',
  pageSize = 200,
  onError = () => {},
}: RoomHubOptions<M>) {
  const rooms = new Map<string, RoomState>()
  const roomsOf = new WeakMap<WebSocket, Set<string>>()
  const lagging = new WeakMap<WebSocket, Set<string>>()
  const stats: HubStats = { rooms: 0, framed: 0, deliveries: 0, gapFilled: 0, slowConsumers: 0 }
  let flushScheduled = false
  const bus = createBus(receive)

  const frameOf = (text: string) => {
    stats.framed++
    return prepareTextFrame(Buffer.from(text))
  }

  function roomState(room: string): RoomState {
    let state = rooms.get(room)
    if (!state) {
      state = {
        sockets: new Set(),
        joining: 0,
        delivered: 0,
        ready: undefined,
        initialized: false,
        early: new Map(),
        filling: false,
        pending: [],
        pendingMessages: 0,
      }
      rooms.set(room, state)
    }
    return state
  }

  /** Subscribes (once) and learns where the room is, so later seqs can be checked for gaps. */
  function initialize(room: string, state: RoomState): Promise<void> {
    state.ready ??= (async () => {
      await bus.subscribe(room)
      state.delivered = await log.head(room)
      state.initialized = true
      drainEarly(room, state)
    })().catch((error: unknown) => {
      state.ready = undefined
      throw error
    })
    return state.ready
  }

  function enqueue(state: RoomState, frame: Buffer) {
    state.pending.push(frame)
    state.pendingMessages++
    if (!flushScheduled) {
      flushScheduled = true
      setImmediate(flushAll)
    }
  }

  /** Delivers the contiguous run of early messages after `delivered`; fills any gap left. */
  function drainEarly(room: string, state: RoomState) {
    for (const seq of [...state.early.keys()]) if (seq <= state.delivered) state.early.delete(seq)
    let next = state.early.get(state.delivered + 1)
    while (next !== undefined) {
      state.early.delete(state.delivered + 1)
      state.delivered++
      enqueue(state, next)
      next = state.early.get(state.delivered + 1)
    }
    if (state.early.size > 0) void fillGap(room, state)
  }

  /** Reads what the bus did not bring from the log, up to the newest seq. */
  async function fillGap(room: string, state: RoomState) {
    if (state.filling) return
    state.filling = true
    try {
      for (;;) {
        const page = await log.range(room, { after: state.delivered, limit: pageSize })
        for (const message of page) {
          if (message.seq !== state.delivered + 1) continue
          let frame = state.early.get(message.seq)
          if (frame === undefined) {
            stats.gapFilled++
            frame = frameOf(encode(message))
          }
          state.early.delete(message.seq)
          state.delivered = message.seq
          enqueue(state, frame)
        }
        drainEarly(room, state)
        if (page.length < pageSize) break
      }
    } catch (error) {
      onError(error, room)
    } finally {
      state.filling = false
    }
  }

  /** The bus handler: `<seq>\n<frame text>` for a message, `-\n<frame text>` for an event. */
  function receive(room: string, payload: Buffer) {
    const state = rooms.get(room)
    if (!state) return
    const newline = payload.indexOf(0x0a)
    const text = payload.subarray(newline + 1)
    if (payload[0] === 0x2d /* '-' */) {
      stats.framed++
      enqueue(state, prepareTextFrame(text))
      return
    }
    const seq = Number(payload.toString('latin1', 0, newline))
    if (state.initialized && !state.filling && seq === state.delivered + 1) {
      state.delivered = seq
      stats.framed++
      enqueue(state, prepareTextFrame(text))
      return
    }
    if (seq <= state.delivered) return
    if (state.early.size >= MAX_EARLY) state.early.clear()
    stats.framed++
    state.early.set(seq, prepareTextFrame(text))
    if (state.initialized) void fillGap(room, state)
  }

  function flushAll() {
    flushScheduled = false
    for (const [room, state] of rooms) flushRoom(room, state)
  }

  function flushRoom(room: string, state: RoomState) {
    if (state.pending.length === 0) return
    const bytes = state.pending.length === 1 ? state.pending[0]! : Buffer.concat(state.pending)
    const count = state.pendingMessages
    state.pending = []
    state.pendingMessages = 0
    for (const ws of state.sockets) {
      if (ws.readyState !== WebSocket.OPEN || lagging.get(ws)?.has(room)) continue
      if (ws.bufferedAmount > highWaterMark) {
        slowConsumer(ws, room)
        continue
      }
      sendPreparedFrame(ws, bytes)
      stats.deliveries += count
    }
  }

  function slowConsumer(ws: WebSocket, room: string) {
    stats.slowConsumers++
    if (policy === 'disconnect') {
      ws.terminate()
      return
    }
    let rooms = lagging.get(ws)
    if (!rooms) lagging.set(ws, (rooms = new Set()))
    rooms.add(room)
    // Queued behind the backlog: the client reads it once it has read everything before it.
    ws.send(resyncFrame(room))
  }

  /** Resolves once `ws`'s queued bytes are handed to the kernel (to pace a back-fill). */
  function flushed(ws: WebSocket): Promise<void> {
    return new Promise((resolve) => sendPreparedFrame(ws, Buffer.alloc(0), () => resolve()))
  }

  return {
    /**
     * Adds `ws` to `room`. With `since`, first sends the messages after it (from the log, paced
     * by the socket's backlog), then live ones; without, live ones only. Joining a room the
     * socket is in restarts it from `since` (what a client does after a `resync`).
     * @returns the seq the socket is now live from.
     */
    async join(ws: WebSocket, room: string, { since }: { since?: number } = {}): Promise<number> {
      const state = roomState(room)
      state.sockets.delete(ws)
      lagging.get(ws)?.delete(room)
      state.joining++
      try {
        await initialize(room, state)
        let sent = since ?? state.delivered
        while (sent < state.delivered) {
          if (ws.readyState !== WebSocket.OPEN) return sent
          const page = await log.range(room, {
            after: sent,
            limit: Math.min(pageSize, state.delivered - sent),
          })
          const upTo = page.filter((message) => message.seq <= state.delivered)
          if (upTo.length === 0) {
            // The log no longer holds them (trimmed, no archive): live from here.
            sent = state.delivered
            break
          }
          const frames = upTo.map((message) => frameOf(encode(message)))
          sendPreparedFrame(ws, frames.length === 1 ? frames[0]! : Buffer.concat(frames))
          stats.deliveries += frames.length
          sent = upTo.at(-1)!.seq
          if (ws.bufferedAmount > highWaterMark) await flushed(ws)
        }
        if (ws.readyState !== WebSocket.OPEN) return sent
        // Same tick as the last check: what is pending was counted in `delivered`, so it goes
        // out before this socket is in the set.
        flushRoom(room, state)
        state.sockets.add(ws)
        let joined = roomsOf.get(ws)
        if (!joined) roomsOf.set(ws, (joined = new Set()))
        joined.add(room)
        return sent
      } finally {
        state.joining--
        if (state.sockets.size === 0 && state.joining === 0) release(room, state)
      }
    },

    /** Removes `ws` from `room` (unsubscribing the instance when it was the last socket). */
    leave,

    /** Removes `ws` from every room (on close). */
    disconnect(ws: WebSocket): void {
      for (const room of roomsOf.get(ws) ?? []) leave(ws, room)
      roomsOf.delete(ws)
    },

    /** The rooms `ws` is live in. */
    roomsOf(ws: WebSocket): ReadonlySet<string> {
      return roomsOf.get(ws) ?? new Set()
    },

    /** Broadcasts a stored message to every instance's sockets in its room. */
    publish(message: M): Promise<void> {
      return bus.publish(message.room, `${message.seq}\n${encode(message)}`)
    },

    /** Broadcasts a frame that is not part of the log (typing, presence, receipts): at most once. */
    publishEvent(room: string, text: string): Promise<void> {
      return bus.publish(room, `-\n${text}`)
    },

    receive,

    /**
     * Compares every room with the log and fills what the bus lost (call it on a timer and
     * when the bus reconnects).
     */
    async resync(): Promise<void> {
      await Promise.all(
        [...rooms].map(async ([room, state]) => {
          if (!state.initialized) return
          try {
            const head = await log.head(room)
            if (head > state.delivered && !state.filling) await fillGap(room, state)
          } catch (error) {
            onError(error, room)
          }
        })
      )
    },

    stats(): HubStats {
      return { ...stats, rooms: rooms.size }
    },

    async close(): Promise<void> {
      flushAll()
      rooms.clear()
      await bus.close()
    },
  }

  function leave(ws: WebSocket, room: string): void {
    const state = rooms.get(room)
    roomsOf.get(ws)?.delete(room)
    lagging.get(ws)?.delete(room)
    if (!state) return
    state.sockets.delete(ws)
    if (state.sockets.size === 0 && state.joining === 0) release(room, state)
  }

  function release(room: string, state: RoomState) {
    if (rooms.get(room) !== state) return
    rooms.delete(room)
    state.ready
      ?.then(() => {
        // A socket may have joined again meanwhile: its state re-subscribed, keep it.
        if (!rooms.has(room)) return bus.unsubscribe(room)
      })
      .catch((error: unknown) => onError(error, room))
  }
}

export type RoomHub<M extends { room: string; seq: number }> = ReturnType<typeof createRoomHub<M>>
