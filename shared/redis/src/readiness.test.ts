import { onceEvent, startRedisServer, waitFor, type RedisServer } from '@kit/testing'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createRedis } from './create-redis.ts'
import { isRedisReady, pingRedis, RedisNotReadyError, waitForRedis } from './readiness.ts'

const silent = { warn() {}, info() {} }
let server: RedisServer
let redis: Redis

beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server.stop())
beforeEach(async () => {
  await server.restart()
  redis = createRedis(server.url, { logger: silent })
  await waitForRedis(redis)
})
afterEach(() => redis.disconnect())

describe('pingRedis()', () => {
  it('when Redis answers, resolves true', async () => {
    expect(isRedisReady(redis)).toBe(true)
    expect(await pingRedis(redis)).toBe(true)
  })

  it('when Redis is frozen, resolves false within the timeout', async () => {
    server.pause()
    const started = performance.now()

    const ok = await pingRedis(redis, 250)
    const elapsed = performance.now() - started
    server.resume()

    expect(ok).toBe(false)
    expect(elapsed).toBeLessThan(600)
  })

  it('when Redis is down, resolves false without a round trip', async () => {
    await server.kill()

    const ok = await pingRedis(redis)

    expect(ok).toBe(false)
  })
})

describe('waitForRedis()', () => {
  it('when Redis comes back, resolves on ready', async () => {
    await server.kill()
    await waitFor(() => !isRedisReady(redis))
    const waiting = waitForRedis(redis, 5000)

    await server.restart()

    await expect(waiting).resolves.toBeUndefined()
    expect(isRedisReady(redis)).toBe(true)
  })

  it('when Redis stays down, rejects after the timeout', async () => {
    await server.kill()
    await waitFor(() => !isRedisReady(redis))

    const waiting = waitForRedis(redis, 200)

    await expect(waiting).rejects.toThrow(RedisNotReadyError)
    await expect(waiting).rejects.toThrow('Redis not ready after 200 ms')
  })

  it('when the client is closed, rejects at once', async () => {
    redis.disconnect()
    await onceEvent(redis, 'end')

    await expect(waitForRedis(redis)).rejects.toThrow('Redis client was closed')
  })
})
