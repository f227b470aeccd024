import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createOutbox, type Outbox } from './outbox.ts'
import { startOutboxRelay, type OutboxRelay } from './relay.ts'

/** The test Redis (the kit's vitest setup sets REDIS_URL); never a default one. */
function redisUrl(): string {
  const url = process.env.REDIS_URL
  if (!url) throw new Error('REDIS_URL must point at a test redis-server')
  return url
}

// A real SQLite file and a real Redis list as the broker (REDIS_URL from the test setup).
const redis = new Redis(redisUrl())
afterAll(() => redis.quit())

let dir: string
let db: Database.Database
let outbox: Outbox
let relay: OutboxRelay | undefined
let list: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outbox-'))
  db = new Database(join(dir, 'outbox.db'))
  db.pragma('journal_mode = WAL')
  db.exec('CREATE TABLE orders (id TEXT PRIMARY KEY, total INTEGER NOT NULL)')
  outbox = createOutbox(db)
  list = `test:outbox:${randomUUID()}`
})

afterEach(async () => {
  await relay?.close()
  relay = undefined
  db.close()
  rmSync(dir, { recursive: true, force: true })
  await redis.del(list)
})

function placeOrder(id: string, total: number) {
  db.transaction(() => {
    db.prepare('INSERT INTO orders (id, total) VALUES (?, ?)').run(id, total)
    outbox.append('order.placed', { id, total })
  })()
}

/** The broker: a Redis list, with a switch that makes it refuse like a server that is down. */
function broker() {
  const state = { down: false, calls: 0 }
  return {
    state,
    publish: async (batch: { payload: unknown }[]) => {
      state.calls++
      if (state.down) throw new Error('connect ECONNREFUSED')
      await redis.rpush(list, ...batch.map((m) => JSON.stringify(m.payload)))
    },
  }
}

describe('createOutbox()', () => {
  it('when the transaction that appended rolls back, the message is gone with it', () => {
    expect(() =>
      db.transaction(() => {
        outbox.append('order.placed', { id: 'o1' })
        db.prepare('INSERT INTO orders (id, total) VALUES (?, ?)').run('o1', null)
      })()
    ).toThrow()

    expect(outbox.backlog().count).toBe(0)
  })

  it('when messages wait, pending answers them oldest first with their payload', () => {
    placeOrder('a', 1)
    placeOrder('b', 2)

    expect(outbox.pending(10).map((m) => m.payload)).toEqual([
      { id: 'a', total: 1 },
      { id: 'b', total: 2 },
    ])
    expect(outbox.backlog().count).toBe(2)
  })
})

describe('startOutboxRelay()', () => {
  it('when the broker is up, publishes every message once, in order, and empties the outbox', async () => {
    const { publish } = broker()
    relay = startOutboxRelay({ outbox, publish, batchSize: 7 })

    for (let i = 0; i < 50; i++) placeOrder(`o${i}`, i)
    relay.wake()
    await relay.drained()

    const published = (await redis.lrange(list, 0, -1)).map(
      (m) => (JSON.parse(m) as { id: string }).id
    )
    expect(published).toEqual(Array.from({ length: 50 }, (_, i) => `o${i}`))
    expect(outbox.backlog().count).toBe(0)
  })

  it('when the broker is down, the outbox holds every message and drains in order when it returns', async () => {
    const { state, publish } = broker()
    state.down = true
    const errors: unknown[] = []
    let thirdFailure!: () => void
    const failedThrice = new Promise<void>((resolve) => (thirdFailure = resolve))
    relay = startOutboxRelay({
      outbox,
      publish,
      backoffMs: 5,
      maxBackoffMs: 20,
      onError: (error) => {
        if (errors.push(error) === 3) thirdFailure()
      },
    })

    for (let i = 0; i < 20; i++) placeOrder(`o${i}`, i)
    relay.wake()
    await failedThrice

    expect(relay.failing).toBe(true)
    expect(outbox.backlog().count).toBe(20)
    expect(await redis.llen(list)).toBe(0)

    state.down = false
    await relay.drained()

    expect(relay.failing).toBe(false)
    expect(errors.length).toBeGreaterThanOrEqual(3)
    const published = (await redis.lrange(list, 0, -1)).map(
      (m) => (JSON.parse(m) as { id: string }).id
    )
    expect(published).toEqual(Array.from({ length: 20 }, (_, i) => `o${i}`))
    expect(outbox.backlog().count).toBe(0)
  })

  it('when a batch is relayed, reports how long its oldest message waited', async () => {
    const { publish } = broker()
    const lags: number[] = []
    let clock = 1_000
    relay = startOutboxRelay({
      outbox,
      publish,
      now: () => clock,
      onRelayed: (_b, lag) => lags.push(lag),
    })

    outbox.append('order.placed', { id: 'x' }, 400)
    clock = 1_000
    await relay.drained()

    expect(lags).toEqual([600])
  })

  it('when closed, stops and leaves what is still pending in the outbox', async () => {
    const { state, publish } = broker()
    state.down = true
    relay = startOutboxRelay({ outbox, publish, backoffMs: 5 })
    placeOrder('kept', 1)
    relay.wake()

    await relay.close()
    relay = undefined

    expect(outbox.pending(10).map((m) => m.payload)).toEqual([{ id: 'kept', total: 1 }])
  })
})
