import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedisServer, type RedisServer } from './redis-server.ts'
import { waitFor } from './wait.ts'

/** A client that never retries: each test sees the server exactly as it is. */
function connectOnce(url: string, options: { commandTimeout?: number } = {}): Redis {
  return new Redis(url, { retryStrategy: () => null, maxRetriesPerRequest: 0, ...options })
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function serverPid(url: string): Promise<number> {
  const client = connectOnce(url)
  const info = await client.info('server')
  client.disconnect()
  return Number(/process_id:(\d+)/.exec(info)?.[1])
}

describe('startRedisServer()', () => {
  let server: RedisServer

  beforeAll(async () => {
    server = await startRedisServer()
  })
  afterAll(() => server.stop())

  it('when started, answers PING on 127.0.0.1 at its url', async () => {
    const client = connectOnce(server.url)

    const reply = await client.ping()

    expect(reply).toBe('PONG')
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
    client.disconnect()
  })

  it('when killed with -9 and restarted, comes back on the same port without the old data', async () => {
    const before = connectOnce(server.url)
    await before.set('k', 'v')
    const pid = await serverPid(server.url)
    before.disconnect()

    await server.kill()
    const deadWhileDown = isRunning(pid)
    await server.restart()

    const after = connectOnce(server.url)
    expect(deadWhileDown).toBe(false)
    expect(await after.ping()).toBe('PONG')
    expect(await serverPid(server.url)).not.toBe(pid)
    expect(await after.get('k')).toBeNull()
    after.disconnect()
  })

  it('when paused, a command times out; when resumed, the server answers again', async () => {
    const client = connectOnce(server.url, { commandTimeout: 200 })
    await client.ping()

    server.pause()
    const whilePaused = client.ping()
    await expect(whilePaused).rejects.toThrow(/timed out/i)
    server.resume()

    expect(await client.ping()).toBe('PONG')
    client.disconnect()
  })

  it('when stopped, refuses connections until restarted', async () => {
    await server.stop()

    const refused = connectOnce(server.url)
    refused.on('error', () => {})
    await expect(refused.ping()).rejects.toThrow()
    refused.disconnect()
    await server.restart()

    const client = connectOnce(server.url)
    expect(await client.ping()).toBe('PONG')
    client.disconnect()
  })
})

describe('startRedisServer({ appendonly: true })', () => {
  let server: RedisServer

  beforeAll(async () => {
    server = await startRedisServer({ appendonly: true })
  })
  afterAll(() => server.stop())

  it('when killed with -9 during a stream of writes, keeps every acknowledged write', async () => {
    const writer = connectOnce(server.url)
    writer.on('error', () => {})
    const acknowledged: string[] = []
    // Writes in batches until the first failed batch, i.e. until the kill below lands.
    const writing = (async () => {
      for (let i = 0; ; i++) {
        const batch = Array.from({ length: 50 }, (_, j) => `k:${i * 50 + j}`)
        const results = await writer
          .pipeline(batch.map((key) => ['set', key, '1']))
          .exec()
          .catch(() => null)
        results?.forEach(([error], j) => {
          if (!error) acknowledged.push(batch[j]!)
        })
        if (!results || results.some(([error]) => error)) return
      }
    })()

    await waitFor(() => acknowledged.length >= 5000, { timeoutMs: 10_000, intervalMs: 1 })
    await server.kill()
    await writing
    writer.disconnect()
    await server.restart()

    const reader = connectOnce(server.url)
    const values = await reader.mget(acknowledged)
    const missing = values.filter((value) => value !== '1').length
    expect(acknowledged.length).toBeGreaterThanOrEqual(5000)
    expect(missing).toBe(0)
    reader.disconnect()
  })
})
