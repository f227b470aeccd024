import { describe, expect, it } from 'vitest'
import { createHealth, type HealthCheck } from './health.ts'

const up = (name: string, critical = true): HealthCheck => ({ name, critical, check: () => true })
const down = (name: string, critical = true): HealthCheck => ({
  name,
  critical,
  check: async () => false,
})

describe('GET /healthz', () => {
  it('when every dependency is down, still answers 200 ok (liveness never checks them)', async () => {
    const health = createHealth([down('redis')])

    const res = await health.routes.request('/healthz')

    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })
})

describe('GET /readyz', () => {
  it('when every check passes, answers 200 ready', async () => {
    const health = createHealth([up('redis'), up('db')])

    const res = await health.routes.request('/readyz')

    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.json()).toEqual({ status: 'ready', checks: { redis: 'up', db: 'up' } })
  })

  it('when only a non-critical check fails, answers 200 degraded', async () => {
    const health = createHealth([up('db'), down('cache', false)])

    const res = await health.routes.request('/readyz')

    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'degraded', checks: { db: 'up', cache: 'down' } })
  })

  it('when a critical check fails, answers 503 unavailable', async () => {
    const health = createHealth([down('redis'), up('cache', false)])

    const res = await health.routes.request('/readyz')

    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      status: 'unavailable',
      checks: { redis: 'down', cache: 'up' },
    })
  })

  it('when a check throws (sync or async), it counts as down', async () => {
    const health = createHealth([
      {
        name: 'sync',
        critical: false,
        check: () => {
          throw new Error('x')
        },
      },
      {
        name: 'async',
        critical: true,
        check: async () => {
          throw new Error('y')
        },
      },
    ])

    const res = await health.routes.request('/readyz')

    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      status: 'unavailable',
      checks: { sync: 'down', async: 'down' },
    })
  })

  it('when a check hangs, it counts as down after 250 ms instead of hanging the probe', async () => {
    const health = createHealth([
      { name: 'frozen', critical: true, check: () => new Promise<boolean>(() => {}) },
    ])
    const started = performance.now()

    const res = await health.routes.request('/readyz')

    const elapsed = performance.now() - started
    expect(res.status).toBe(503)
    expect(elapsed).toBeGreaterThanOrEqual(240)
    expect(elapsed).toBeLessThan(1000)
  })

  it('when draining, answers 503 draining even though every check passes', async () => {
    const health = createHealth([up('redis')])

    health.setDraining()
    const res = await health.routes.request('/readyz')

    expect(health.draining).toBe(true)
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ status: 'draining', checks: { redis: 'up' } })
  })
})
