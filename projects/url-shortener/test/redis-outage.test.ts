import { setImmediate } from 'node:timers/promises'
import { startRedisServer, uniqueName, waitFor } from '@kit/testing'
import type { RedisServer } from '@kit/testing'
import { createRedis } from '@kit/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, createLink, request } from './helpers.ts'
import type { TestApp } from './helpers.ts'

describe('Redis outage during redirects', () => {
  let server: RedisServer
  let redis: Redis
  let instance: TestApp
  const keyPrefix = uniqueName('outage')
  /** Per code, the targets a redirect may answer right now (two while an edit is made). */
  const targets = new Map<string, string[]>()

  beforeAll(async () => {
    server = await startRedisServer()
    redis = createRedis(server.url, {
      role: 'request',
      logger: { warn() {}, info() {} },
      redisOptions: { retryStrategy: () => 50 },
    })
    instance = buildTestApp({ redis, keyPrefix })
    await instance.cache.ready()
    for (let i = 0; i < 20; i++) {
      const { code, target } = await createLink(instance.app, {
        url: `https://example.com/outage/${i}`,
      })
      targets.set(code, [target])
    }
  })
  afterAll(async () => {
    await instance.close()
    redis.disconnect()
    await server.stop()
  })

  /** Follows every link once; returns the requests whose answer was not the right redirect. */
  async function wrongRedirects(): Promise<string[]> {
    const wrong: string[] = []
    await Promise.all(
      [...targets].map(async ([code, accepted]) => {
        const res = await instance.app.request(`/${code}`)
        if (res.status !== 302 || !accepted.includes(res.headers.get('location') ?? ''))
          wrong.push(`${code}:${res.status}`)
      })
    )
    return wrong
  }

  async function readiness(): Promise<{ status: string; checks: Record<string, string> }> {
    return (await instance.app.request('/readyz')).json() as Promise<{
      status: string
      checks: Record<string, string>
    }>
  }

  it('when Redis is killed mid-stream, every redirect stays correct, readiness degrades, and the cache comes back', async () => {
    await wrongRedirects()
    await waitFor(async () => (await redis.keys(`${keyPrefix}:*`)).length === targets.size)
    const readyBefore = await readiness()
    const wrong: string[] = []
    let requests = 0
    let streaming = true
    const stream = (async () => {
      while (streaming) {
        wrong.push(...(await wrongRedirects()))
        requests += targets.size
        // Served from SQLite, a redirect resolves in microtasks only: let timers and sockets run.
        await setImmediate()
      }
    })()

    await waitFor(() => requests >= 200)
    await server.kill()
    await waitFor(() => instance.cache.stats().degraded, {
      message: 'cache never noticed the outage',
    })
    const requestsAtKill = requests
    await waitFor(() => requests >= requestsAtKill + 400)
    const readyDuringOutage = await readiness()
    const { code: createdDuringOutage, target } = await createLink(instance.app, {
      url: 'https://example.com/during-outage',
    })
    const editedCode = [...targets.keys()][0] as string
    const editDuringOutage = await request(instance.app, 'PATCH', `/api/links/${editedCode}`, {
      body: { url: 'https://example.com/edited-during-outage' },
    })
    targets.set(createdDuringOutage, [target])
    await server.restart()
    await waitFor(() => !instance.cache.stats().degraded, {
      timeoutMs: 10_000,
      message: 'cache never recovered',
    })
    targets.get(editedCode)?.push('https://example.com/edited-after-outage')
    const editAfterOutage = await request(instance.app, 'PATCH', `/api/links/${editedCode}`, {
      body: { url: 'https://example.com/edited-after-outage' },
    })
    targets.set(editedCode, ['https://example.com/edited-after-outage'])
    const hitsAfterRecovery = instance.cache.stats().hits
    const requestsAtRecovery = requests
    await waitFor(() => requests >= requestsAtRecovery + 400)
    streaming = false
    await stream
    const readyAfter = await readiness()

    expect(wrong).toEqual([])
    expect(requests).toBeGreaterThan(1000)
    expect(readyBefore).toEqual({ status: 'ready', checks: { redis: 'up' } })
    expect(readyDuringOutage).toEqual({ status: 'degraded', checks: { redis: 'down' } })
    expect(readyAfter).toEqual({ status: 'ready', checks: { redis: 'up' } })
    expect(instance.cache.stats().errors).toBeGreaterThan(0)
    expect(instance.cache.stats().hits).toBeGreaterThan(hitsAfterRecovery)
    // An edit during the outage is refused whole (503), never applied behind a stale cache.
    expect(editDuringOutage.status).toBe(503)
    expect(editAfterOutage.status).toBe(200)
    const [editedKey] = await redis.keys(`${keyPrefix}:*:{${editedCode}}`)
    expect(JSON.parse((await redis.get(editedKey as string)) as string)).toMatchObject({
      target: 'https://example.com/edited-after-outage',
    })
  })
})
