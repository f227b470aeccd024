import type { Cluster, Redis } from 'ioredis'

/** What a bus hands the hub: the room and the payload published to it, as published. */
export type BusHandler = (room: string, payload: Buffer) => void

/**
 * Carries a room's broadcasts to every instance with members in it. Delivery is at most once
 * (Redis pub/sub drops what is published while a subscriber is away): the hub's sequence
 * numbers and the room log are what turn that into exactly once for clients.
 */
export type Bus = {
  publish(room: string, payload: string | Buffer): Promise<void>
  /** Start receiving a room's broadcasts (the hub calls it once per room with local members). */
  subscribe(room: string): Promise<void>
  unsubscribe(room: string): Promise<void>
  close(): Promise<void>
}

/**
 * One process: a publish is handed to the handler at once, if the room is subscribed. The
 * embedded default.
 *
 * @example
 * ```ts
 * const bus = createLocalBus({ onMessage: (room, payload) => hub.receive(room, payload) })
 * ```
 */
export function createLocalBus({ onMessage }: { onMessage: BusHandler }): Bus {
  const rooms = new Set<string>()
  return {
    publish(room, payload) {
      if (rooms.has(room)) {
        onMessage(room, typeof payload === 'string' ? Buffer.from(payload) : payload)
      }
      return Promise.resolve()
    },
    subscribe(room) {
      rooms.add(room)
      return Promise.resolve()
    },
    unsubscribe(room) {
      rooms.delete(room)
      return Promise.resolve()
    },
    close() {
      rooms.clear()
      return Promise.resolve()
    },
  }
}

export type RedisBusOptions = {
  /** Publishes; a command client (on a cluster, the same Cluster client as the log's). */
  publisher: Redis | Cluster
  /**
   * A connection for subscriptions only (`publisher.duplicate()`); ioredis re-subscribes it
   * after a reconnect. A Cluster needs `shardedSubscribers: true` for `sharded`.
   */
  subscriber: Redis | Cluster
  /** The channel of a room; give it the room's hash tag so a sharded channel sits with its keys. */
  channel: (room: string) => string
  /**
   * SPUBLISH/SSUBSCRIBE (Redis 7): a message goes only to the shard that owns the channel's slot,
   * not to every node of the cluster as PUBLISH does. Required to scale pub/sub on a cluster.
   */
  sharded?: boolean
  onMessage: BusHandler
  /** Called when the subscriber connection is back: what was published meanwhile is lost. */
  onReconnect?: () => void
}

/**
 * Fan-out between instances over Redis pub/sub, one channel per room, subscribed only by the
 * instances that have members in it (socket.io-redis-adapter's "dynamic" sharded mode).
 *
 * @example
 * ```ts
 * const bus = createRedisBus({
 *   publisher: redis,
 *   subscriber: redis.duplicate(),
 *   channel: (room) => `chat:{room:${room}}`,
 *   onMessage: (room, payload) => hub.receive(room, payload),
 * })
 * ```
 */
export function createRedisBus({
  publisher,
  subscriber,
  channel,
  sharded = false,
  onMessage,
  onReconnect,
}: RedisBusOptions): Bus {
  const roomOf = new Map<string, string>()
  const receive = (name: Buffer | string, payload: Buffer) => {
    const room = roomOf.get(name.toString())
    if (room !== undefined) onMessage(room, payload)
  }
  subscriber.on(sharded ? 'smessageBuffer' : 'messageBuffer', receive)
  let connectedOnce = false
  const onReady = () => {
    if (connectedOnce) onReconnect?.()
    connectedOnce = true
  }
  subscriber.on('ready', onReady)
  if (subscriber.status === 'ready') connectedOnce = true

  return {
    async publish(room, payload) {
      if (sharded) await publisher.spublish(channel(room), payload)
      else await publisher.publish(channel(room), payload)
    },
    async subscribe(room) {
      const name = channel(room)
      roomOf.set(name, room)
      try {
        if (sharded) await subscriber.ssubscribe(name)
        else await subscriber.subscribe(name)
      } catch (error) {
        roomOf.delete(name)
        throw error
      }
    },
    async unsubscribe(room) {
      const name = channel(room)
      roomOf.delete(name)
      if (sharded) await subscriber.sunsubscribe(name)
      else await subscriber.unsubscribe(name)
    },
    close() {
      subscriber.off(sharded ? 'smessageBuffer' : 'messageBuffer', receive)
      subscriber.off('ready', onReady)
      roomOf.clear()
      return Promise.resolve()
    },
  }
}
