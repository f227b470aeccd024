import { onceEvent, startRedisServer, uniqueName, waitFor, type RedisServer } from '@kit/testing'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createRedis, reconnectDelay, type RedisLogger } from './create-redis.ts'
import { isRedisReady, waitForRedis } from './readiness.ts'

type Logged = { level: 'warn' | 'info'; obj: object; msg?: string }

function capturingLogger(): RedisLogger & { entries: Logged[] } {
  const entries: Logged[] = []
  return {
    entries,
    warn: (obj, msg) => entries.push({ level: 'warn', obj, msg }),
    info: (obj, msg) => entries.push({ level: 'info', obj, msg }),
  }
}

/** Counts 'reconnecting' events so a test can wait for several failed attempts. */
function countReconnects(redis: Redis): () => number {
  let count = 0
  redis.on('reconnecting', () => count++)
  return () => count
}

const uncaught: unknown[] = []
const onUncaught = (error: unknown) => uncaught.push(error)
let server: RedisServer
const prefix = uniqueName('redis')
const clients: Redis[] = []

function client(role: 'request' | 'worker' | 'subscriber', logger = capturingLogger()) {
  const redis = createRedis(server.url, { role, logger })
  clients.push(redis)
  return { redis, logger }
}

beforeAll(async () => {
  process.on('uncaughtException', onUncaught)
  server = await startRedisServer()
})
afterAll(async () => {
  process.off('uncaughtException', onUncaught)
  await server.stop()
})
beforeEach(async () => {
  // Every test starts with a running server, whatever the previous one did to it.
  await server.restart()
})
afterEach(() => {
  for (const redis of clients.splice(0)) redis.disconnect()
  expect(uncaught).toEqual([])
})

describe("createRedis({ role: 'request' })", () => {
  it('when Redis is killed, calls reject fast; when it is back, calls succeed without any action', async () => {
    const { redis, logger } = client('request')
    await waitForRedis(redis)
    await redis.set(`${prefix}:k`, 'v')

    // The first calls go out before the client has even seen the socket close.
    await server.kill()
    const failures: number[] = []
    for (let i = 0; i < 5; i++) {
      const started = performance.now()
      await expect(redis.get(`${prefix}:k`)).rejects.toThrow()
      failures.push(performance.now() - started)
    }
    const reconnects = countReconnects(redis)
    await waitFor(() => reconnects() >= 3, { message: 'client stopped reconnecting' })
    const started = performance.now()
    await expect(redis.get(`${prefix}:k`)).rejects.toThrow()
    failures.push(performance.now() - started)
    const restartedAt = performance.now()
    await server.restart()
    const reply = await waitFor(() => redis.ping().catch(() => null), { intervalMs: 10 })
    const recoveryMs = performance.now() - restartedAt

    console.info(
      `request client: failures took ${failures.map((ms) => ms.toFixed(1)).join(', ')} ms; ` +
        `answered ${recoveryMs.toFixed(0)} ms after restart`
    )
    expect(Math.max(...failures)).toBeLessThan(1000)
    expect(reply).toBe('PONG')
    expect(recoveryMs).toBeLessThan(5000)
    expect(logger.entries.map((e) => e.level)).toEqual(['warn', 'info'])
  })

  it('when Redis is frozen, a call rejects at the command timeout instead of hanging', async () => {
    const { redis } = client('request')
    await waitForRedis(redis)

    server.pause()
    const started = performance.now()
    const result = redis.get(`${prefix}:frozen`)
    await expect(result).rejects.toThrow(/timed out/i)
    const elapsed = performance.now() - started
    server.resume()

    expect(elapsed).toBeGreaterThanOrEqual(450)
    expect(elapsed).toBeLessThan(1500)
    expect(await redis.ping()).toBe('PONG')
  })
})

describe("createRedis({ role: 'worker' })", () => {
  it('when a command is issued during an outage, it waits and completes after the restart', async () => {
    const { redis } = client('worker')
    await redis.ping()
    await server.kill()
    await waitFor(() => !isRedisReady(redis))

    let settled = false
    const pending = redis.incr(`${prefix}:jobs`).finally(() => (settled = true))
    const reconnects = countReconnects(redis)
    await waitFor(() => reconnects() >= 3, { message: 'client stopped reconnecting' })
    const settledDuringOutage = settled
    await server.restart()

    expect(settledDuringOutage).toBe(false)
    expect(await pending).toBe(1)
    expect(await redis.get(`${prefix}:jobs`)).toBe('1')
  })
})

describe("createRedis({ role: 'subscriber' })", () => {
  it('when Redis restarts, the client is re-subscribed and receives messages published after', async () => {
    const channel = `${prefix}:events`
    const { redis: subscriber } = client('subscriber')
    const { redis: publisher } = client('worker')
    await subscriber.subscribe(channel)

    await server.kill()
    await waitFor(() => !isRedisReady(subscriber))
    await server.restart()
    const received = onceEvent(subscriber, 'message')
    // PUBLISH returns how many subscribers got it: 1 once the re-SUBSCRIBE has landed.
    await waitFor(() => publisher.publish(channel, 'after-restart'), {
      message: 'subscriber was never re-subscribed',
    })

    expect(await received).toEqual([channel, 'after-restart'])
  })
})

describe('createRedis() logging', () => {
  it('when Redis stays unreachable, logs the outage once however many retries fail', async () => {
    await server.kill()
    // No 'error' listener of its own: createRedis must keep the process alive by itself.
    const { redis, logger } = client('request')
    const reconnects = countReconnects(redis)

    await waitFor(() => reconnects() >= 4, { message: 'client stopped reconnecting' })

    expect(logger.entries).toHaveLength(1)
    expect(logger.entries[0]).toMatchObject({ level: 'warn', obj: { redis: 'request' } })
    expect(uncaught).toEqual([])
  })
})

describe('reconnectDelay()', () => {
  it('when attempts grow, backs off and never waits more than 1 s', () => {
    const delays = [1, 2, 3, 4, 5, 10, 1000].map(reconnectDelay)

    expect(delays).toEqual([50, 100, 200, 400, 800, 1000, 1000])
  })
})
