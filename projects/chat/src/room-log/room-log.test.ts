import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { generateSQLiteDrizzleJson, generateSQLiteMigration } from 'drizzle-kit/api'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisRoomLog, roomTag } from './redis-room-log.ts'
import type { RoomLog } from './room-log.ts'
import { createSqliteRoomLog, type SqliteRoomLog } from './sqlite-room-log.ts'
import * as schema from './sqlite-schema.ts'

// Waits for what must arrive: up to 10 s, so a loaded machine is not a failure; the value is exact.
const eventually = { timeout: 10_000 }

const redisUrl = process.env.REDIS_URL
if (!redisUrl) throw new Error('REDIS_URL must point at a redis-server for these tests')
const redis = new Redis(redisUrl)
const files: string[] = []

/** A fresh SQLite file with the tables created from the same schema drizzle-kit migrates. */
async function sqliteLog(options: { now?: () => number } = {}): Promise<SqliteRoomLog> {
  const file = join(tmpdir(), `room-log-${randomUUID()}.db`)
  files.push(file)
  const client = new Database(file)
  client.pragma('journal_mode = WAL')
  const ddl = await generateSQLiteMigration(
    await generateSQLiteDrizzleJson({}),
    await generateSQLiteDrizzleJson(schema)
  )
  for (const statement of ddl) client.exec(statement)
  return createSqliteRoomLog({ db: drizzle({ client }), ...options })
}

const prefix = () => `test-${randomUUID()}:`

afterAll(async () => {
  await redis.quit()
  for (const file of files) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true })
  }
})

const backends: [string, () => Promise<RoomLog>][] = [
  ['sqlite', () => sqliteLog()],
  ['redis', () => Promise.resolve(createRedisRoomLog({ redis, prefix: prefix() }))],
  [
    'redis with a sqlite archive',
    async () =>
      createRedisRoomLog({
        redis,
        prefix: prefix(),
        archive: await sqliteLog(),
        archiveIntervalMs: 20,
      }),
  ],
]

describe.each(backends)('room log on %s', (_name, create) => {
  let log: RoomLog
  beforeAll(async () => {
    log = await create()
    return () => log.close()
  })
  const room = () => `room-${randomUUID()}`

  it('when messages are appended, assigns 1, 2, 3 per room, each room on its own', async () => {
    const [a, b] = [room(), room()]

    const seqs = []
    for (const [r, id] of [
      [a, 'm1'],
      [b, 'm1'],
      [a, 'm2'],
      [a, 'm3'],
    ] as const) {
      seqs.push((await log.append({ room: r, sender: 'ada', clientId: id, body: id })).message.seq)
    }

    expect(seqs).toEqual([1, 1, 2, 3])
    expect(await log.head(a)).toBe(3)
    expect(await log.head(b)).toBe(1)
    expect(await log.head(room())).toBe(0)
  })

  it('when a client retries a message id, returns the first copy and stores nothing', async () => {
    const r = room()
    const first = await log.append({ room: r, sender: 'ada', clientId: 'x', body: 'hello' })

    const retry = await log.append({ room: r, sender: 'ada', clientId: 'x', body: 'hello' })
    const otherSender = await log.append({ room: r, sender: 'bob', clientId: 'x', body: 'hi' })

    expect(first.duplicate).toBe(false)
    expect(retry).toEqual({ message: first.message, duplicate: true })
    expect(otherSender.message.seq).toBe(2)
    expect((await log.range(r, { after: 0, limit: 10 })).map((m) => m.body)).toEqual([
      'hello',
      'hi',
    ])
  })

  it('when 200 appends race, the seqs are exactly 1..200 and every message is stored once', async () => {
    const r = room()

    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        log.append({ room: r, sender: `u${i % 7}`, clientId: `c${i}`, body: `b${i}` })
      )
    )

    expect(results.map((x) => x.message.seq).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1)
    )
    const stored = await log.range(r, { after: 0, limit: 500 })
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    expect(new Set(stored.map((m) => m.clientId)).size).toBe(200)
  })

  it('when paged forward with after and backward with before, walks the whole room once', async () => {
    const r = room()
    for (let i = 1; i <= 23; i++) {
      await log.append({ room: r, sender: 'ada', clientId: `c${i}`, body: `m${i}` })
    }

    const forward: number[] = []
    for (let after = 0; ;) {
      const page = await log.range(r, { after, limit: 5 })
      if (page.length === 0) break
      forward.push(...page.map((m) => m.seq))
      after = page.at(-1)!.seq
    }
    const backward: number[] = []
    for (let before: number | undefined; ;) {
      const page = await log.range(r, { limit: 5, ...(before !== undefined && { before }) })
      if (page.length === 0) break
      backward.unshift(...page.map((m) => m.seq))
      before = page[0]!.seq
    }

    const all = Array.from({ length: 23 }, (_, i) => i + 1)
    expect(forward).toEqual(all)
    expect(backward).toEqual(all)
    const newest = await log.range(r, { limit: 3 })
    expect(newest.map((m) => [m.seq, m.body, m.sender])).toEqual([
      [21, 'm21', 'ada'],
      [22, 'm22', 'ada'],
      [23, 'm23', 'ada'],
    ])
  })
})

describe('room log on redis: bounds', () => {
  it('when a room passes maxLength, the stream keeps only the newest maxLength entries', async () => {
    const p = prefix()
    const log = createRedisRoomLog({ redis, prefix: p, maxLength: 10 })

    for (let i = 1; i <= 25; i++) {
      await log.append({ room: 'r', sender: 'ada', clientId: `c${i}`, body: `m${i}` })
    }

    expect(await redis.xlen(`${roomTag(p, 'r')}:log`)).toBe(10)
    expect((await log.range('r', { after: 0, limit: 100 })).map((m) => m.seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 16)
    )
    expect(await log.head('r')).toBe(25)
  })

  it('when entries are older than maxAgeMs, the next append drops them and the stream expires', async () => {
    const p = prefix()
    let clock = 1_000_000
    const log = createRedisRoomLog({ redis, prefix: p, maxAgeMs: 60_000, now: () => clock })
    for (let i = 1; i <= 5; i++) {
      await log.append({ room: 'r', sender: 'ada', clientId: `old${i}`, body: 'old' })
    }

    clock += 61_000
    await log.append({ room: 'r', sender: 'ada', clientId: 'new', body: 'new' })

    expect((await log.range('r', { after: 0, limit: 100 })).map((m) => m.seq)).toEqual([6])
    const ttl = await redis.pttl(`${roomTag(p, 'r')}:log`)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })

  it('when the counter is lost while the stream remains, appends fail instead of reusing a seq', async () => {
    const p = prefix()
    const log = createRedisRoomLog({ redis, prefix: p })
    await log.append({ room: 'r', sender: 'ada', clientId: 'a', body: 'a' })
    await redis.del(`${roomTag(p, 'r')}:seq`)

    await expect(
      log.append({ room: 'r', sender: 'ada', clientId: 'b', body: 'b' })
    ).rejects.toThrow(/equal or smaller/)
    expect(await log.range('r', { after: 0, limit: 10 })).toHaveLength(1)
  })

  it('when the stream has dropped old messages, pages read them from the archive', async () => {
    const archive = await sqliteLog()
    const p = prefix()
    const log = createRedisRoomLog({
      redis,
      prefix: p,
      maxLength: 5,
      archive,
      archiveIntervalMs: 10,
    })
    // Appended in bursts smaller than the stream's bound, each copied out before the next one
    // pushes it off the stream: the archive then holds what the stream dropped.
    for (let i = 1; i <= 20; i++) {
      await log.append({ room: 'r', sender: 'ada', clientId: `c${i}`, body: `m${i}` })
      if (i % 4 === 0) await expect.poll(() => archive.head('r'), eventually).toBe(i)
    }
    expect(await redis.xlen(`${roomTag(p, 'r')}:log`)).toBe(5)

    await log.close()

    const all = Array.from({ length: 20 }, (_, i) => i + 1)
    expect((await log.range('r', { after: 0, limit: 100 })).map((m) => m.seq)).toEqual(all)
    expect((await log.range('r', { after: 3, limit: 4 })).map((m) => m.seq)).toEqual([4, 5, 6, 7])
    expect((await log.range('r', { before: 10, limit: 4 })).map((m) => m.seq)).toEqual([6, 7, 8, 9])
    expect((await archive.range('r', { after: 0, limit: 100 })).map((m) => m.seq)).toEqual(all)
  })
})
