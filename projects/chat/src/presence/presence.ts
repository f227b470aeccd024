import type { Cluster, Redis } from 'ioredis'

export type PresenceOptions = {
  /** Shared presence for every instance; absent: this process only (the embedded default). */
  redis?: Redis | Cluster
  /** Key prefix; a room's set is `<prefix>{room:<id>}:presence` (the room's hash tag). */
  prefix?: string
  /** This process; its entries are `<user>|<instanceId>`. */
  instanceId: string
  /**
   * How long an entry lives unless refreshed; call `refresh()` well within it (ttl / 3).
   * Entries expire by the instances' clocks, so keep them in sync (NTP).
   */
  ttlMs: number
  now?: () => number
}

export type Presence = {
  /** A connection of `user` joined `room`; true when it is this instance's first for them. */
  enter(room: string, user: string): Promise<boolean>
  /** A connection left; true when the user has no entry left in the room on any instance. */
  exit(room: string, user: string): Promise<boolean>
  /** Users with a live entry in the room, sorted. */
  online(room: string): Promise<string[]>
  /** Extends every entry of this instance by the TTL (the heartbeat of presence). */
  refresh(): Promise<void>
  /**
   * Removes entries whose TTL ran out (an instance that died stopped refreshing them) and
   * returns the users who have no entry left: each is reported to exactly one caller.
   */
  sweep(room: string): Promise<string[]>
  /** This instance's rooms with at least one local connection. */
  rooms(): string[]
  /** Removes this instance's entries (a clean shutdown: its users go offline at once). */
  close(): Promise<void>
}

const SEPARATOR = '|'
const userOf = (member: string) => member.slice(0, member.lastIndexOf(SEPARATOR))
const distinctUsers = (members: string[]) => [...new Set(members.map(userOf))].sort()

/**
 * Presence as entries with a TTL, one per (user, instance) in a sorted set per room scored by
 * expiry time: an instance refreshes its own entries on a timer, so when it dies its users
 * expire within the TTL and the next `sweep` reports them offline. Each instance counts its
 * own connections, so a user with two tabs stays online until the last one leaves. User ids
 * must not contain `|`.
 *
 * @example
 * ```ts
 * const presence = createPresence({ redis, prefix: 'chat:', instanceId, ttlMs: 30_000 })
 * setInterval(() => presence.refresh(), 10_000)
 * if (await presence.enter('general', 'ada')) broadcast({ type: 'presence', user: 'ada', online: true })
 * ```
 */
export function createPresence({
  redis,
  prefix = '',
  instanceId,
  ttlMs,
  now = Date.now,
}: PresenceOptions): Presence {
  // Local connections per room and user: the source of truth for what this instance refreshes.
  const local = new Map<string, Map<string, number>>()
  const member = (user: string) => `${user}${SEPARATOR}${instanceId}`
  const store = redis ? redisStore(redis, prefix, ttlMs) : memoryStore()

  return {
    async enter(room, user) {
      let users = local.get(room)
      if (!users) local.set(room, (users = new Map<string, number>()))
      const count = (users.get(user) ?? 0) + 1
      users.set(user, count)
      if (count > 1) return false
      await store.add(room, [[member(user), now() + ttlMs]])
      return true
    },

    async exit(room, user) {
      const users = local.get(room)
      const count = (users?.get(user) ?? 0) - 1
      if (count > 0) {
        users!.set(user, count)
        return false
      }
      users?.delete(user)
      if (users?.size === 0) local.delete(room)
      const live = await store.removeAndList(room, member(user), now())
      return !live.some((m) => userOf(m) === user)
    },

    async online(room) {
      return distinctUsers(await store.live(room, now()))
    },

    async refresh() {
      const expiry = now() + ttlMs
      await Promise.all(
        [...local].map(([room, users]) =>
          store.add(
            room,
            [...users.keys()].map((user) => [member(user), expiry])
          )
        )
      )
    },

    async sweep(room) {
      const { expired, live } = await store.takeExpired(room, now())
      const stillOnline = new Set(live.map(userOf))
      return distinctUsers(expired).filter((user) => !stillOnline.has(user))
    },

    rooms: () => [...local.keys()],

    async close() {
      await Promise.all(
        [...local].map(([room, users]) =>
          Promise.all(
            [...users.keys()].map((user) => store.removeAndList(room, member(user), now()))
          )
        )
      )
      local.clear()
    },
  }
}

type Store = {
  add(room: string, entries: [member: string, expiresAt: number][]): Promise<void>
  /** Removes `member`; answers the live members left. */
  removeAndList(room: string, member: string, now: number): Promise<string[]>
  live(room: string, now: number): Promise<string[]>
  /** Atomically removes the expired members and answers them with the live ones. */
  takeExpired(room: string, now: number): Promise<{ expired: string[]; live: string[] }>
}

function redisStore(redis: Redis | Cluster, prefix: string, ttlMs: number): Store {
  const key = (room: string) => `${prefix}{room:${room}}:presence`
  // MULTI: each step is one round trip and atomic (the room's keys share a slot on a cluster).
  const exec = async (pipeline: ReturnType<Redis['multi']>) => {
    const replies = (await pipeline.exec()) ?? []
    for (const [error] of replies) if (error) throw error
    return replies.map(([, value]) => value)
  }
  return {
    async add(room, entries) {
      if (entries.length === 0) return
      // The set expires with its newest entry: a room nobody refreshes leaves no key behind.
      await exec(
        redis
          .multi()
          .zadd(key(room), ...entries.flatMap(([m, at]) => [at, m]))
          .pexpire(key(room), ttlMs)
      )
    },
    async removeAndList(room, member, now) {
      const [, live] = await exec(
        redis.multi().zrem(key(room), member).zrangebyscore(key(room), `(${now}`, '+inf')
      )
      return live as string[]
    },
    async live(room, now) {
      return redis.zrangebyscore(key(room), `(${now}`, '+inf')
    },
    async takeExpired(room, now) {
      const [expired, , live] = await exec(
        redis
          .multi()
          .zrangebyscore(key(room), '-inf', now)
          .zremrangebyscore(key(room), '-inf', now)
          .zrangebyscore(key(room), `(${now}`, '+inf')
      )
      return { expired: expired as string[], live: live as string[] }
    },
  }
}

function memoryStore(): Store {
  const rooms = new Map<string, Map<string, number>>()
  const liveIn = (room: string, now: number) =>
    [...(rooms.get(room) ?? [])].filter(([, at]) => at > now).map(([m]) => m)
  return {
    add(room, entries) {
      let members = rooms.get(room)
      if (!members) rooms.set(room, (members = new Map<string, number>()))
      for (const [m, at] of entries) members.set(m, at)
      return Promise.resolve()
    },
    removeAndList(room, member, now) {
      rooms.get(room)?.delete(member)
      return Promise.resolve(liveIn(room, now))
    },
    live(room, now) {
      return Promise.resolve(liveIn(room, now))
    },
    takeExpired(room, now) {
      const members = rooms.get(room) ?? new Map<string, number>()
      const expired = [...members].filter(([, at]) => at <= now).map(([m]) => m)
      for (const m of expired) members.delete(m)
      if (members.size === 0) rooms.delete(room)
      return Promise.resolve({ expired, live: liveIn(room, now) })
    },
  }
}
