import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMemoryConcurrencyLimiter } from '../concurrency/concurrency-limiter.ts'
import { parseRateLimit, parseRateLimitPolicy } from '../headers/ratelimit-header-parser.ts'
import { createMemoryLimiter } from '../limiter/index.ts'
import { concurrencyLimit } from './concurrency-limit.ts'
import { rateLimit, withRateLimit } from './rate-limit.ts'

// Over a real socket, the headers take the Node path (ServerResponse.setHeader/appendHeader)
// instead of Hono's c.header(): these tests pin what a client receives on that path.
let server: ServerType
let base: string

beforeAll(async () => {
  const app = new Hono()
  const key = () => 'client'
  app.get(
    '/both',
    concurrencyLimit({
      name: 'inflight',
      limiter: createMemoryConcurrencyLimiter({ limit: 5 }),
      key,
    }),
    rateLimit({
      limiters: [
        createMemoryLimiter({
          name: 'burst',
          algorithm: 'fixed-window',
          limit: 2,
          windowMs: 60_000,
        }),
      ],
      key,
    }),
    (c) => c.json({ ok: true }, 200, { 'X-Handler': 'yes' })
  )
  app.get(
    '/wrapped',
    withRateLimit(
      {
        limiters: [
          createMemoryLimiter({ name: 'hot', algorithm: 'gcra', limit: 1, windowMs: 60_000 }),
        ],
        key,
      },
      (c) => c.text('ok', 200, { 'X-Handler': 'yes' })
    )
  )
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      base = `http://127.0.0.1:${info.port}`
      resolve()
    })
  })
})

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe('rate-limit headers on Node', () => {
  it('when two limiters allow, one response lists both policies and keeps the handler’s own headers', async () => {
    const response = await fetch(`${base}/both`)

    expect(response.status).toBe(200)
    expect(response.headers.get('x-handler')).toBe('yes')
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    const policies = parseRateLimitPolicy(response.headers.get('ratelimit-policy'))
    expect(policies.map((policy) => policy.name).sort()).toEqual(['burst', 'inflight'])
    const limits = parseRateLimit(response.headers.get('ratelimit'))
    expect(limits.find((limit) => limit.name === 'burst')?.remaining).toBe(1)
    expect(limits.map((limit) => limit.name).sort()).toEqual(['burst', 'inflight'])
  })

  it('when the rate limit refuses, the 429 carries Retry-After, both policies and a problem body', async () => {
    await fetch(`${base}/both`).then((response) => response.arrayBuffer())

    const response = await fetch(`${base}/both`)

    expect(response.status).toBe(429)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    const retryAfter = Number(response.headers.get('retry-after'))
    const limits = parseRateLimit(response.headers.get('ratelimit'))
    expect(limits.find((limit) => limit.name === 'burst')).toMatchObject({
      remaining: 0,
      resetSeconds: retryAfter,
    })
    expect(parseRateLimitPolicy(response.headers.get('ratelimit-policy'))).toHaveLength(2)
    expect(await response.json()).toMatchObject({ status: 429, 'violated-policies': ['burst'] })
  })
})

describe('withRateLimit on Node', () => {
  it('sends the fields with the handler’s own headers, then refuses with a problem body', async () => {
    const allowed = await fetch(`${base}/wrapped`)
    const refused = await fetch(`${base}/wrapped`)

    expect(allowed.status).toBe(200)
    expect(await allowed.text()).toBe('ok')
    expect(allowed.headers.get('x-handler')).toBe('yes')
    expect(allowed.headers.get('ratelimit-policy')).toBe('"hot";q=1;w=60')
    expect(parseRateLimit(allowed.headers.get('ratelimit'))[0]?.remaining).toBe(0)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(await refused.json()).toMatchObject({ status: 429, 'violated-policies': ['hot'] })
  })
})
