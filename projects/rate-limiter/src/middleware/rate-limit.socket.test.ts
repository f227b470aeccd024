import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { describe, expect, it, onTestFinished } from 'vitest'
import { concurrencyLimit } from './concurrency-limit.ts'
import { parseRateLimit, parseRateLimitPolicy } from './ratelimit-header-parser.ts'
import { rateLimit, rateLimitPolicyField } from './rate-limit.ts'
import type { ConcurrencyLimiter, RateLimitDecision, RateLimiter } from './types.ts'

/** `limit` requests per minute, counted from zero: enough for a socket round trip. */
function perMinute(name: string, limit: number): RateLimiter {
  const policy = { name, limit, windowMs: 60_000 }
  let used = 0
  return {
    policy,
    consume(_key, cost = 1) {
      const allowed = used + cost <= limit
      if (allowed) used += cost
      const decision: RateLimitDecision = {
        allowed,
        policy,
        remaining: limit - used,
        resetMs: 60_000,
        retryAfterMs: allowed ? 0 : 60_000,
      }
      return Promise.resolve(decision)
    },
    refund(_key, cost = 1) {
      used = Math.max(0, used - cost)
      return Promise.resolve()
    },
  }
}

const roomy: ConcurrencyLimiter = {
  limit: 5,
  acquire: () =>
    Promise.resolve({ acquired: true, limit: 5, inFlight: 1, release: () => Promise.resolve() }),
}

/** A route behind both limits, served on a real socket and also answerable with app.request(). */
async function serveBoth() {
  const app = new Hono()
  const key = () => 'client'
  const minute = [perMinute('minute', 1)]
  app.get(
    '/both',
    concurrencyLimit({
      name: 'inflight',
      limiter: roomy,
      key,
      laterPolicies: () => rateLimitPolicyField(minute),
    }),
    rateLimit({ limiters: minute, key }),
    (c) => c.json({ ok: true }, 200, { 'X-Handler': 'yes' })
  )
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
  await once(server, 'listening')
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as AddressInfo
  return { app, url: `http://127.0.0.1:${port}/both` }
}

describe('the RateLimit fields over a socket', () => {
  it("when allowed, then refused, a client receives what app.request() shows: both policies, the handler's headers, the refusal", async () => {
    const { app, url } = await serveBoth()

    const allowed = await fetch(url)
    const refused = await fetch(url)
    // The same app, the same code path, without a socket.
    const inProcess = await app.request('/both')

    expect(allowed.status).toBe(200)
    expect(allowed.headers.get('x-handler')).toBe('yes')
    expect(allowed.headers.get('content-type')).toMatch(/^application\/json/)
    expect(
      parseRateLimitPolicy(allowed.headers.get('ratelimit-policy')).map((p) => p.name)
    ).toEqual(['inflight', 'minute'])
    expect(parseRateLimit(allowed.headers.get('ratelimit'))).toMatchObject([
      { name: 'inflight', remaining: 4 },
      { name: 'minute', remaining: 0 },
    ])
    expect(refused.status).toBe(429)
    expect(refused.headers.get('content-type')).toBe('application/problem+json')
    expect(refused.headers.get('ratelimit-policy')).toBe(allowed.headers.get('ratelimit-policy'))
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(parseRateLimit(refused.headers.get('ratelimit'))).toContainEqual(
      expect.objectContaining({ name: 'minute', remaining: 0, resetSeconds: retryAfter })
    )
    expect(await refused.json()).toMatchObject({ status: 429, 'violated-policies': ['minute'] })
    for (const name of ['ratelimit-policy', 'ratelimit', 'retry-after', 'content-type']) {
      expect({ name, value: inProcess.headers.get(name) }).toEqual({
        name,
        value: refused.headers.get(name),
      })
    }
  })
})
