import { Hono } from 'hono'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createMetrics } from './metrics.ts'

describe('createMetrics()', () => {
  it('when requests are served, GET /metrics reports them by route pattern, not raw URL', async () => {
    const registry = new Registry()
    const metrics = createMetrics({ registry, prefix: 'test_' })
    const app = new Hono()
    app.use(metrics.middleware)
    app.get('/links/:code', (c) => c.text(c.req.param('code')))
    app.get('/metrics', metrics.handler)

    await app.request('/links/abc')
    await app.request('/links/def')
    const res = await app.request('/metrics')

    const text = await res.text()
    expect(metrics.registry).toBe(registry)
    expect(res.headers.get('content-type')).toBe(registry.contentType)
    expect(text).toContain(
      'test_http_requests_total{method="GET",route="/links/:code",status="200",ok="true"} 2'
    )
    expect(text).not.toContain('/links/abc')
  })
})
