import { randomUUID } from 'node:crypto'
import { Hono } from 'hono'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { redisSeenIds, webhookReceiver, type ReceivedWebhook } from './receiver.ts'
import { generateSecret, webhookHeaders } from './signature.ts'

/** The test Redis (the kit's vitest setup sets REDIS_URL); never a default one. */
function redisUrl(): string {
  const url = process.env.REDIS_URL
  if (!url) throw new Error('REDIS_URL must point at a test redis-server')
  return url
}

// The kit's vitest global setup starts a redis-server and sets REDIS_URL; so can yours.
const redis = new Redis(redisUrl())
afterAll(() => redis.quit())

function receiverApp(secrets: string[], onMessage: (m: ReceivedWebhook) => Promise<void> | void) {
  const app = new Hono()
  app.post(
    '/hook',
    webhookReceiver({
      secrets: () => secrets,
      seen: redisSeenIds(redis, { prefix: `test:${randomUUID()}:seen:` }),
      onMessage,
    })
  )
  return app
}

async function post(app: Hono, body: string, headers: Record<string, string>) {
  return await app.request('/hook', {
    method: 'POST',
    body,
    headers: { ...headers, 'content-type': 'application/json' },
  })
}

describe('webhookReceiver()', () => {
  const secret = generateSecret()
  const body = JSON.stringify({ type: 'order.paid', data: { id: 1 } })

  it('when the same webhook-id arrives 5 times (retries, each re-signed), applies it once', async () => {
    const applied: string[] = []
    const app = receiverApp([secret], ({ id }) => {
      applied.push(id)
    })

    const statuses = []
    for (let i = 0; i < 5; i++) {
      const headers = webhookHeaders({
        id: 'msg_dup',
        body,
        secrets: [secret],
        now: Date.now() + i * 1000,
      })
      statuses.push((await post(app, body, headers)).status)
    }

    expect(applied).toEqual(['msg_dup'])
    expect(statuses).toEqual([204, 200, 200, 200, 200])
  })

  it('when 5 copies of one id arrive at once, applies it once', async () => {
    let applied = 0
    const app = receiverApp([secret], () => {
      applied++
    })
    const headers = webhookHeaders({ id: 'msg_race', body, secrets: [secret] })

    await Promise.all(Array.from({ length: 5 }, () => post(app, body, headers)))

    expect(applied).toBe(1)
  })

  it('when the signature does not match, answers 401 and applies nothing', async () => {
    let applied = 0
    const app = receiverApp([secret], () => {
      applied++
    })
    const headers = webhookHeaders({ id: 'msg_bad', body, secrets: [generateSecret()] })

    const res = await post(app, body, headers)

    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(applied).toBe(0)
  })

  it('when the handler fails, answers 500 and the retry of the same id is applied', async () => {
    let calls = 0
    const app = receiverApp([secret], () => {
      if (++calls === 1) throw new Error('database down')
    })
    const first = webhookHeaders({ id: 'msg_retry', body, secrets: [secret] })

    expect((await post(app, body, first)).status).toBe(500)
    const second = webhookHeaders({ id: 'msg_retry', body, secrets: [secret] })
    expect((await post(app, body, second)).status).toBe(204)
    expect(calls).toBe(2)
  })
})
