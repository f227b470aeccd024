import type { ServedApp } from '@kit/http'
import { startRedisServer } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, serveTestApp, type TestApp } from './helpers.ts'

let t: TestApp
let served: ServedApp
beforeAll(async () => {
  t = await buildTestApp()
  served = await serveTestApp(t.app)
})
afterAll(async () => {
  await served.shutdown()
  await t.close()
})

describe('the API over a real socket', () => {
  it('when a job is posted and read back, both answer as under app.request()', async () => {
    const created = await fetch(`${served.url}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'socket-1' },
      body: JSON.stringify({ name: 'noop', data: {} }),
    })
    const { id } = (await created.json()) as { id: string }
    const read = await fetch(`${served.url}/api/jobs/${id}`)

    expect(created.status).toBe(201)
    expect(created.headers.get('x-request-id')).toBeTruthy()
    expect(read.status).toBe(200)
    expect(((await read.json()) as { state: string }).state).toBe('waiting')
  })

  it('when a chunked body outgrows the limit, answers 413', async () => {
    const big = JSON.stringify({
      name: 'email.send',
      data: { to: 'a@example.com', subject: 's', body: 'x'.repeat(100_000) },
    })
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      },
    })

    const res = await fetch(`${served.url}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    })

    expect(res.status).toBe(413)
  })

  it('when /readyz is asked of a Redis that may evict keys, answers 503 naming the eviction policy', async () => {
    const lru = await startRedisServer({ args: ['--maxmemory-policy', 'allkeys-lru'] })
    const other = await buildTestApp({ redisUrl: lru.url })
    const otherServed = await serveTestApp(other.app)
    try {
      const res = await fetch(`${otherServed.url}/readyz`)

      expect(res.status).toBe(503)
      expect(await res.json()).toEqual({
        status: 'unavailable',
        checks: { redis: 'up', 'eviction-policy': 'down' },
      })
      expect((await fetch(`${served.url}/readyz`)).status).toBe(200)
    } finally {
      await otherServed.shutdown()
      await other.close()
      await lru.stop()
    }
  })
})
