import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { parseRateLimit, parseRateLimitPolicy } from './ratelimit-header-parser.ts'
import { rateLimit, type RateLimitEvent, type RateLimitOptions } from './rate-limit.ts'
import type { RateLimitDecision, RateLimiter, RateLimitPolicy } from './types.ts'

const clock = { now: 1_700_000_000_000 }

/** A fixed-window counter on the fake clock: the smallest limiter the middleware can drive. */
function counter(policy: RateLimitPolicy): RateLimiter & { used(key: string): number } {
  const used = new Map<string, number>()
  const windowEnd = () => (Math.floor(clock.now / policy.windowMs) + 1) * policy.windowMs
  return {
    policy,
    used: (key) => used.get(key) ?? 0,
    consume(key, cost = 1) {
      if (!Number.isInteger(cost) || cost < 0) {
        return Promise.reject(new RangeError(`cost must be an integer >= 0, got ${cost}`))
      }
      const before = used.get(key) ?? 0
      const allowed = before + cost <= policy.limit
      if (allowed) used.set(key, before + cost)
      const decision: RateLimitDecision = {
        allowed,
        policy,
        remaining: policy.limit - (used.get(key) ?? 0),
        resetMs: windowEnd() - clock.now,
        retryAfterMs: allowed ? 0 : windowEnd() - clock.now,
      }
      return Promise.resolve(decision)
    },
    refund(key, cost = 1) {
      used.set(key, Math.max(0, (used.get(key) ?? 0) - cost))
      return Promise.resolve()
    },
  }
}

const policy = (name: string, limit: number, windowMs = 60_000): RateLimitPolicy => ({
  name,
  limit,
  windowMs,
})

class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}

/** A limiter whose store is down and that fails closed. */
function failing(name: string): RateLimiter {
  const fail = () => Promise.reject(new StoreUnavailableError('connection refused'))
  return { policy: policy(name, 10), consume: fail, refund: fail }
}

/** A limiter whose store is down and that fails open: admitted, counted by nothing. */
function failingOpen(name: string): RateLimiter {
  return {
    policy: policy(name, 10),
    consume: () =>
      Promise.resolve({
        allowed: true,
        policy: policy(name, 10),
        remaining: 9,
        resetMs: 0,
        retryAfterMs: 0,
        source: 'fail-open',
      }),
    refund: () => Promise.resolve(),
  }
}

/** One limited route; the handler answers the status in `?status=` (default 200). */
function appWith(options: Partial<RateLimitOptions> & Pick<RateLimitOptions, 'limiters'>) {
  const events: RateLimitEvent[] = []
  const app = new Hono()
  app.onError((error, c) => c.json({ error: error.name }, 400))
  app.get(
    '/r',
    rateLimit({
      key: (c) => c.req.header('x-client') ?? 'anonymous',
      onEvent: (event) => events.push(event),
      clock: () => clock.now,
      ...options,
    }),
    (c) => c.json({ ok: true }, Number(c.req.query('status') ?? 200) as 200)
  )
  const get = (headers: Record<string, string> = {}, query = '') =>
    app.request(`/r${query}`, { headers })
  return { events, get }
}

/** Lets the refunds the middleware does not await run. */
const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('rateLimit', () => {
  it('when allowed, answers the handler with RateLimit-Policy and RateLimit for the policy', async () => {
    const { get } = appWith({ limiters: [counter(policy('api', 10))] })

    const response = await get()

    expect(response.status).toBe(200)
    expect(response.headers.get('ratelimit-policy')).toBe('"api";q=10;w=60')
    const [limit] = parseRateLimit(response.headers.get('ratelimit'))
    expect(limit).toMatchObject({ name: 'api', remaining: 9 })
    expect(limit?.resetSeconds).toBeGreaterThanOrEqual(1)
    expect(limit?.resetSeconds).toBeLessThanOrEqual(60)
  })

  it('when over the limit, answers 429 problem details with Retry-After equal to t (>= 1)', async () => {
    const { get } = appWith({ limiters: [counter(policy('api', 2, 10_000))] })
    await get()
    await get()

    const response = await get()

    expect(response.status).toBe(429)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
      title: 'Too Many Requests',
      status: 429,
      code: 'quota_exceeded',
      detail: 'Quota exceeded: api',
      'violated-policies': ['api'],
    })
    const retryAfter = Number(response.headers.get('retry-after'))
    const [limit] = parseRateLimit(response.headers.get('ratelimit'))
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true)
    expect(limit).toMatchObject({ remaining: 0, resetSeconds: retryAfter })
  })

  it('when retry jitter is set, spreads refusals over the jitter range, never earlier, with Retry-After equal to t', async () => {
    const draws = [0, 3, 5, 1]
    const maxima: number[] = []
    const windowEnd = (Math.floor(clock.now / 10_000) + 1) * 10_000
    const exact = Math.ceil((windowEnd - clock.now) / 1000)
    const { get } = appWith({
      limiters: [counter(policy('api', 1, 10_000))],
      retryJitterSeconds: 5,
      randomInt: (max) => {
        maxima.push(max)
        return draws.shift() ?? 0
      },
    })
    await get()

    const refusals = [await get(), await get(), await get(), await get()]

    const waits = refusals.map((response) => Number(response.headers.get('retry-after')))
    // The clock stands still, so without jitter every refusal would give the same wait.
    expect(waits).toEqual([exact, exact + 3, exact + 5, exact + 1])
    expect(maxima).toEqual([5, 5, 5, 5])
    for (const [i, response] of refusals.entries()) {
      expect(parseRateLimit(response.headers.get('ratelimit'))[0]?.resetSeconds).toBe(waits[i])
    }
  })

  it('when retry jitter is set, allowed answers keep their exact t and draw nothing', async () => {
    const { get } = appWith({
      limiters: [counter(policy('api', 5, 10_000))],
      retryJitterSeconds: 5,
      randomInt: () => {
        throw new Error('no draw on an allowed request')
      },
    })

    const response = await get()

    expect(response.status).toBe(200)
  })

  it('when retry jitter is negative or fractional, refuses to build the middleware', () => {
    const limiters = [counter(policy('api', 1))]
    const key = () => 'k'

    expect(() => rateLimit({ limiters, key, retryJitterSeconds: -1 })).toThrow(/retryJitterSeconds/)
    expect(() => rateLimit({ limiters, key, retryJitterSeconds: 1.5 })).toThrow(
      /retryJitterSeconds/
    )
  })

  it('when two limits apply and the burst one denies, names only it and spends nothing', async () => {
    const burst = counter(policy('burst', 1, 1000))
    const minute = counter(policy('minute', 100))
    const { get } = appWith({ limiters: [burst, minute] })
    await get()

    const denied = await get()

    expect(denied.status).toBe(429)
    expect(await denied.json()).toMatchObject({ 'violated-policies': ['burst'] })
    expect(parseRateLimitPolicy(denied.headers.get('ratelimit-policy')).map((p) => p.name)).toEqual(
      ['burst', 'minute']
    )
    expect(minute.used('anonymous')).toBe(1)
  })

  it('when rateLimitField is most-restrictive, RateLimit lists only the tightest policy', async () => {
    const { get } = appWith({
      limiters: [counter(policy('loose', 100)), counter(policy('tight', 3, 1000))],
      rateLimitField: 'most-restrictive',
    })

    const response = await get()

    expect(parseRateLimit(response.headers.get('ratelimit'))).toMatchObject([
      { name: 'tight', remaining: 2 },
    ])
  })

  it('when the cost is a function, charges what it returns', async () => {
    const { get } = appWith({
      limiters: [counter(policy('api', 10))],
      cost: (c) => Number(c.req.query('cost')),
    })

    const response = await get({}, '?cost=4')

    expect(parseRateLimit(response.headers.get('ratelimit'))[0]?.remaining).toBe(6)
  })

  it('when a limiter rejects the request itself (a bad cost), lets its error reach onError', async () => {
    const { get, events } = appWith({ limiters: [counter(policy('api', 10))], cost: () => -1 })

    const response = await get()

    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({ error: 'RangeError' })
    expect(events).toEqual([])
  })

  it('when limiters depend on the request, applies the chosen tier', async () => {
    const free = [counter(policy('free', 1))]
    const pro = [counter(policy('pro', 1000))]
    const { get } = appWith({ limiters: (c) => (c.req.header('x-tier') === 'pro' ? pro : free) })

    const response = await get({ 'x-tier': 'pro' })

    expect(response.headers.get('ratelimit-policy')).toBe('"pro";q=1000;w=60')
  })

  it('when no limiter applies to the request, passes it without fields or events', async () => {
    const { get, events } = appWith({ limiters: () => [] })

    const response = await get()

    expect(response.status).toBe(200)
    expect(response.headers.get('ratelimit-policy')).toBeNull()
    expect(events).toEqual([])
  })

  it('when the handler answers 5xx and refundWhen says so, gives the units back', async () => {
    const limiter = counter(policy('api', 5))
    const { get } = appWith({ limiters: [limiter], refundWhen: (c) => c.res.status >= 500 })

    await get({}, '?status=503')
    await settle()

    expect(limiter.used('anonymous')).toBe(0)
  })

  it('when the handler succeeds, refunds nothing', async () => {
    const limiter = counter(policy('api', 5))
    const { get } = appWith({ limiters: [limiter], refundWhen: (c) => c.res.status >= 500 })

    await get()
    await settle()

    expect(limiter.used('anonymous')).toBe(1)
  })

  it('when shadow mode lets a denied request through and its handler fails, refunds nothing (it consumed nothing)', async () => {
    const limiter = counter(policy('api', 1))
    const { get } = appWith({
      limiters: [limiter],
      shadow: true,
      refundWhen: (c) => c.res.status >= 500,
    })
    await get()

    await get({}, '?status=503')
    await settle()

    expect(limiter.used('anonymous')).toBe(1)
  })

  it('when in shadow mode and over the limit, lets the request through and reports it', async () => {
    const { get, events } = appWith({ limiters: [counter(policy('api', 1))], shadow: true })
    await get()

    const response = await get()

    expect(response.status).toBe(200)
    expect(parseRateLimit(response.headers.get('ratelimit'))[0]?.remaining).toBe(0)
    expect(events.at(-1)).toMatchObject({ type: 'decision', allowed: false, shadowed: true })
  })

  it("when the store fails closed, answers 503 naming no policy, with the resource's policies", async () => {
    const { get, events } = appWith({ limiters: [failing('api')] })

    const response = await get()

    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('1')
    expect(await response.json()).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity',
      title: 'Service Unavailable',
      status: 503,
      code: 'store_unavailable',
      detail: 'The rate limit store is unavailable and this service fails closed.',
    })
    expect(response.headers.get('ratelimit-policy')).toBe('"api";q=10;w=60')
    expect(events).toMatchObject([{ type: 'store-unavailable', shadowed: false }])
  })

  it('when the store fails closed in shadow mode, still lets the request through', async () => {
    const { get } = appWith({ limiters: [failing('api')], shadow: true })

    const response = await get()

    expect(response.status).toBe(200)
  })

  it("when one policy's store is down and another policy denies, answers 429 naming the one exceeded", async () => {
    const burst = counter(policy('burst', 1, 1000))
    const { get } = appWith({ limiters: [burst, failing('minute')] })
    await burst.consume('anonymous')

    const response = await get()

    expect(response.status).toBe(429)
    expect(await response.json()).toMatchObject({ 'violated-policies': ['burst'] })
  })

  it('when the store failed open, leaves out the RateLimit member it cannot know, and keeps the others', async () => {
    const known = appWith({ limiters: [failingOpen('open'), counter(policy('api', 10))] })
    const unknown = appWith({ limiters: [failingOpen('open')], legacyHeaders: true })

    const mixed = await known.get()
    const alone = await unknown.get()

    expect(parseRateLimit(mixed.headers.get('ratelimit')).map((l) => l.name)).toEqual(['api'])
    expect(alone.headers.get('ratelimit-policy')).toBe('"open";q=10;w=60')
    expect(alone.headers.get('ratelimit')).toBeNull()
    expect(alone.headers.get('x-ratelimit-remaining')).toBeNull()
  })

  it('when legacy headers are on, sends X-RateLimit-* consistent with RateLimit', async () => {
    const { get } = appWith({ limiters: [counter(policy('api', 10))], legacyHeaders: true })

    const response = await get()

    expect(response.headers.get('x-ratelimit-limit')).toBe('10')
    expect(response.headers.get('x-ratelimit-remaining')).toBe('9')
    const reset = Number(response.headers.get('x-ratelimit-reset'))
    const t = parseRateLimit(response.headers.get('ratelimit'))[0]?.resetSeconds ?? -1
    expect(reset).toBe(Math.ceil(clock.now / 1000) + t)
  })

  it('when a decision is made, emits one decision event with its duration', async () => {
    const { get, events } = appWith({ limiters: [counter(policy('api', 3, 1000))] })

    await get()

    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ type: 'decision', allowed: true, shadowed: false, cost: 1 })
  })
})
