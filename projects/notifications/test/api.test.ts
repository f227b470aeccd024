import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from './helpers.ts'

// The HTTP contract over a real socket, and the OpenAPI document.
let stack: Stack

beforeAll(async () => {
  stack = await startStack()
}, 60_000)

afterAll(async () => {
  await stack.close()
})

type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }

describe('GET /openapi.json', () => {
  it('when read, documents every route of the app with its error responses', async () => {
    const doc = (await (await stack.request('/openapi.json')).json()) as Doc
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map(
        (method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`
      )
    )
    const routes = stack.api.app.routes
      .filter(
        (r) => (r.method !== 'ALL' && r.path.startsWith('/v1/')) || r.path.startsWith('/events/')
      )
      .map((r) => `${r.method} ${r.path}`)

    expect(new Set(documented)).toEqual(new Set(routes))
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const errors = Object.keys(operation.responses).filter((status) => Number(status) >= 400)
        expect(errors.length, `${method} ${path} documents its errors`).toBeGreaterThan(0)
      }
    }
  })
})

describe('the HTTP contract on a socket', () => {
  it('when a route is unknown, answers 404 problem details with the secure headers', async () => {
    const res = await stack.request('/v1/nothing-here')

    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-request-id')).toBeTruthy()
  })

  it('when /healthz and /readyz are asked, answer 200 with each dependency up', async () => {
    const health = await stack.request('/healthz')
    const ready = await stack.request('/readyz')

    expect(health.status).toBe(200)
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { sqlite: 'up', redis: 'up', outbox: 'up', providers: 'up' },
    })
  })

  it('when /metrics is scraped, exposes the outbox backlog, relay lag and breaker gauges', async () => {
    const text = await (await stack.request('/metrics')).text()

    expect(text).toContain('notifications_outbox_backlog')
    expect(text).toContain('notifications_outbox_relay_lag_seconds')
    expect(text).toContain('notifications_breaker_open')
  })

  it('when an event is over MAX_RECIPIENTS, answers 400 naming recipients', async () => {
    const recipients = Array.from({ length: stack.config.MAX_RECIPIENTS + 1 }, (_, i) => `r${i}`)

    const res = await stack.request('/v1/events', { json: { type: 'a.b', recipients } })

    expect(res.status).toBe(400)
    expect(((await res.json()) as { errors: { path: string }[] }).errors[0]?.path).toBe(
      'recipients'
    )
  })
})
