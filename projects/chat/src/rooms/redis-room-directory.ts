import { readFileSync } from 'node:fs'
import type { Cluster, Redis } from 'ioredis'
import { directRoomId, type Member, type Room, type RoomDirectory } from './room-directory.ts'

const MARK_READ_LUA = readFileSync(new URL('./mark-read.lua', import.meta.url), 'utf8')
type MarkRead = (readKey: string, membersKey: string, user: string, seq: number) => Promise<number>

/**
 * The directory in Redis, shared by every instance. A room's keys share its hash tag
 * (`<prefix>{room:<id>}:meta|members|read`); a user's room list is its own key, written after
 * the room's (on a cluster the two live in different slots, so that step is not atomic: the
 * room's members hash is the truth, the list an index of it).
 *
 * @example
 * ```ts
 * const directory = createRedisRoomDirectory({ redis, prefix: 'chat:' })
 * ```
 */
export function createRedisRoomDirectory({
  redis,
  prefix,
  now = Date.now,
}: {
  redis: Redis | Cluster
  prefix: string
  now?: () => number
}): RoomDirectory {
  redis.defineCommand('chatMarkRead', { numberOfKeys: 2, lua: MARK_READ_LUA })
  const markReadScript = (redis as unknown as { chatMarkRead: MarkRead }).chatMarkRead.bind(redis)
  const tag = (room: string) => `${prefix}{room:${room}}`
  const meta = (room: string) => `${tag(room)}:meta`
  const membersKey = (room: string) => `${tag(room)}:members`
  const readKey = (room: string) => `${tag(room)}:read`
  const userRooms = (user: string) => `${prefix}user:${user}:rooms`

  const toRoom = (id: string, fields: Record<string, string>): Room | undefined =>
    fields.kind === undefined
      ? undefined
      : {
          id,
          kind: fields.kind === 'direct' ? 'direct' : 'group',
          name: fields.name ?? '',
          createdBy: fields.createdBy ?? '',
          createdAt: Number(fields.createdAt),
        }

  async function addMember(room: string, user: string, lastRead: number): Promise<boolean> {
    const [[, added]] = ((await redis
      .multi()
      .hsetnx(membersKey(room), user, String(now()))
      .hsetnx(readKey(room), user, String(lastRead))
      .exec()) ?? [[null, 0]]) as [[Error | null, number]]
    await redis.sadd(userRooms(user), room)
    return added === 1
  }

  async function get(id: string) {
    return toRoom(id, await redis.hgetall(meta(id)))
  }

  return {
    async createGroup({ id, name, createdBy, lastRead }) {
      const room: Room = { id, kind: 'group', name, createdBy, createdAt: now() }
      await redis.hset(meta(id), {
        kind: 'group',
        name,
        createdBy,
        createdAt: String(room.createdAt),
      })
      await addMember(id, createdBy, lastRead)
      return room
    },

    async openDirect(a, b) {
      const id = directRoomId(a, b)
      const room: Room = {
        id,
        kind: 'direct',
        name: [a, b].sort().join(' & '),
        createdBy: a,
        createdAt: now(),
      }
      // HSETNX on `kind` decides the race of two users opening the same pair at once.
      const created = (await redis.hsetnx(meta(id), 'kind', 'direct')) === 1
      if (created) {
        await redis.hset(meta(id), {
          name: room.name,
          createdBy: a,
          createdAt: String(room.createdAt),
        })
      }
      await addMember(id, a, 0)
      await addMember(id, b, 0)
      return created ? { room, created } : { room: (await get(id)) ?? room, created }
    },

    get,

    join: (room, user, lastRead) => addMember(room, user, lastRead),

    async leave(room, user) {
      const [[, removed]] = ((await redis
        .multi()
        .hdel(membersKey(room), user)
        .hdel(readKey(room), user)
        .exec()) ?? [[null, 0]]) as [[Error | null, number]]
      await redis.srem(userRooms(user), room)
      return removed === 1
    },

    async member(room, user) {
      const [[, joinedAt], [, lastRead]] = ((await redis
        .multi()
        .hget(membersKey(room), user)
        .hget(readKey(room), user)
        .exec()) ?? []) as [[Error | null, string | null], [Error | null, string | null]]
      return joinedAt === null
        ? undefined
        : { user, joinedAt: Number(joinedAt), lastRead: Number(lastRead ?? 0) }
    },

    async members(room) {
      const [[, joined], [, reads]] = ((await redis
        .multi()
        .hgetall(membersKey(room))
        .hgetall(readKey(room))
        .exec()) ?? []) as [
        [Error | null, Record<string, string>],
        [Error | null, Record<string, string>],
      ]
      return Object.entries(joined)
        .map(([user, at]): Member => ({
          user,
          joinedAt: Number(at),
          lastRead: Number(reads[user] ?? 0),
        }))
        .sort((x, y) => x.user.localeCompare(y.user))
    },

    async roomsOf(user) {
      const ids = (await redis.smembers(userRooms(user))).sort()
      const rows = await Promise.all(
        ids.map(async (id) => {
          const [room, lastRead] = await Promise.all([get(id), redis.hget(readKey(id), user)])
          return room && lastRead !== null ? { room, lastRead: Number(lastRead) } : undefined
        })
      )
      return rows.filter((row) => row !== undefined)
    },

    async markRead(room, user, seq) {
      return Math.max(0, await markReadScript(readKey(room), membersKey(room), user, seq))
    },
  }
}
