import { readFileSync } from 'node:fs'
import type { Cluster, Redis } from 'ioredis'
import type { AppendInput, ChatMessage, RangeQuery, RoomLog } from './room-log.ts'

/**
 * Where history outlives the stream's bounds. The SQLite log (sqlite-room-log.ts) is one.
 * `store` must skip messages it already has: every instance may archive the same room.
 */
export type RoomArchive = {
  store(batch: readonly ChatMessage[]): void | Promise<void>
  range(room: string, query: RangeQuery): Promise<ChatMessage[]>
  head(room: string): Promise<number>
}

export type RedisRoomLogOptions = {
  /** A client for commands (a Cluster works too: every key of a room is in one slot). */
  redis: Redis | Cluster
  /** Key prefix, e.g. 'chat:'; keys are `<prefix>{room:<id>}:seq|log|dedupe:…`. */
  prefix: string
  /** Most messages a room's stream keeps. Default 10,000. */
  maxLength?: number
  /** Most age of a message in the stream, ms. Default 7 days. */
  maxAgeMs?: number
  /** How long a client message id is remembered for deduplication, ms. Default 24 h. */
  dedupeTtlMs?: number
  /** Copies every room's messages out of the stream before its bounds drop them. */
  archive?: RoomArchive
  /** How often dirty rooms are copied to the archive, ms. Default 1000. */
  archiveIntervalMs?: number
  /** Archive failures (Redis or the archive down): retried at the next interval. */
  onArchiveError?: (error: unknown) => void
  now?: () => number
}

type AppendReply = [seq: number, at: number, duplicate: 0 | 1]
type StreamEntry = [id: string, fields: string[]]

/** The script as ioredis `defineCommand` adds it: EVALSHA with a fallback to EVAL. */
type AppendCommand = (
  seqKey: string,
  logKey: string,
  dedupeKey: string,
  ...argv: (string | number)[]
) => Promise<AppendReply>

const APPEND_LUA = readFileSync(new URL('./append-message.lua', import.meta.url), 'utf8')

/** The hash tag that keeps a room's keys (and its pub/sub channel) in one cluster slot. */
export function roomTag(prefix: string, room: string): string {
  return `${prefix}{room:${room}}`
}

function toMessage(room: string, [id, fields]: StreamEntry): ChatMessage {
  const value: Record<string, string> = {}
  for (let i = 0; i < fields.length; i += 2) value[fields[i]!] = fields[i + 1]!
  return {
    room,
    seq: Number(id.slice(0, id.indexOf('-'))),
    sender: value.s ?? '',
    clientId: value.c ?? '',
    body: value.b ?? '',
    at: Number(value.t),
  }
}

/**
 * The room log in Redis, shared by every instance: the sequence counter and a stream per room
 * whose entry IDs are the sequence numbers, bounded by length and age. One Lua script assigns
 * the seq, appends and records the client id, atomically. With an `archive`, each instance
 * copies the rooms it appended to into it (a second later, from the stream, so a crash loses
 * nothing the stream still holds), and pages older than the stream are read from it.
 *
 * @example
 * ```ts
 * const log = createRedisRoomLog({ redis, prefix: 'chat:', archive: createSqliteRoomLog({ db }) })
 * await log.append({ room: 'general', sender: 'ada', clientId: 'c1', body: 'hi' })
 * await log.range('general', { after: 0, limit: 50 })
 * ```
 */
export function createRedisRoomLog({
  redis,
  prefix,
  maxLength = 10_000,
  maxAgeMs = 7 * 24 * 3600_000,
  dedupeTtlMs = 24 * 3600_000,
  archive,
  archiveIntervalMs = 1000,
  onArchiveError = () => {},
  now = Date.now,
}: RedisRoomLogOptions): RoomLog {
  redis.defineCommand('chatAppendMessage', { numberOfKeys: 3, lua: APPEND_LUA })
  const appendScript = (
    redis as unknown as { chatAppendMessage: AppendCommand }
  ).chatAppendMessage.bind(redis)
  // Fixed for the log's life: stringified once, not on every call.
  const bounds = [String(maxLength), String(maxAgeMs), String(dedupeTtlMs)]
  const keys = (room: string) => {
    const tag = roomTag(prefix, room)
    return { seq: `${tag}:seq`, log: `${tag}:log` }
  }

  async function streamRange(room: string, { after, before, limit }: RangeQuery) {
    const { log } = keys(room)
    if (after !== undefined) {
      const entries = (await redis.xrange(log, `(${after}-0`, '+', 'COUNT', limit)) as StreamEntry[]
      return entries.map((entry) => toMessage(room, entry))
    }
    const end = before === undefined ? '+' : `(${before}-0`
    const entries = (await redis.xrevrange(log, end, '-', 'COUNT', limit)) as StreamEntry[]
    return entries.map((entry) => toMessage(room, entry)).reverse()
  }

  // Rooms appended to since the last copy, and the seq up to which each is archived.
  const dirty = new Set<string>()
  const archived = new Map<string, number>()
  let archiving: Promise<void> = Promise.resolve()

  async function copyToArchive(target: RoomArchive): Promise<void> {
    for (const room of [...dirty]) {
      dirty.delete(room)
      try {
        let from = archived.get(room) ?? (await target.head(room))
        for (;;) {
          const page = await streamRange(room, { after: from, limit: 500 })
          if (page.length === 0) break
          await target.store(page)
          from = page.at(-1)!.seq
        }
        archived.set(room, from)
      } catch (error) {
        dirty.add(room)
        onArchiveError(error)
      }
    }
  }

  const timer = archive
    ? setInterval(() => {
        archiving = archiving.then(() => copyToArchive(archive))
      }, archiveIntervalMs)
    : undefined
  timer?.unref()

  return {
    async append(input: AppendInput) {
      const { seq, log } = keys(input.room)
      const dedupeKey = `${roomTag(prefix, input.room)}:dedupe:${input.sender}:${input.clientId}`
      const [assigned, at, duplicate] = await appendScript(
        seq,
        log,
        dedupeKey,
        input.sender,
        input.clientId,
        input.body,
        now(),
        ...bounds
      )
      if (archive && duplicate === 0) dirty.add(input.room)
      return { message: { ...input, seq: assigned, at }, duplicate: duplicate === 1 }
    },

    async range(room, query) {
      const fromStream = await streamRange(room, query)
      if (!archive) return fromStream
      if (query.after !== undefined) {
        // The stream starts above after + 1: the messages in between can only be archived.
        const first = fromStream[0]?.seq
        if (first === query.after + 1) return fromStream
        const older = await archive.range(room, {
          after: query.after,
          limit: query.limit,
          ...(first !== undefined && { before: first }),
        })
        const fromArchive = first === undefined ? older : older.filter((m) => m.seq < first)
        return [...fromArchive, ...fromStream].slice(0, query.limit)
      }
      if (fromStream.length === query.limit) return fromStream
      const oldest = fromStream[0]?.seq ?? query.before
      const older = await archive.range(room, {
        limit: query.limit - fromStream.length,
        ...(oldest !== undefined && { before: oldest }),
      })
      return [...older, ...fromStream]
    },

    async head(room) {
      return Number((await redis.get(keys(room).seq)) ?? 0)
    },

    async close() {
      clearInterval(timer)
      if (archive) {
        archiving = archiving.then(() => copyToArchive(archive))
        await archiving
      }
    },
  }
}
