import { Hono, type Context, type Handler } from 'hono'
import { describe, expect, it, vi } from 'vitest'
import { parseRateLimit, parseRateLimitPolicy } from '../headers/ratelimit-header-parser.ts'
import {
  InvalidRequestError,
  StoreUnavailableError,
  createMemoryLimiter,
  type Limiter,
  type Policy,
} from '../limiter/index.ts'
import {
  rateLimit,
  withRateLimit,
  type RateLimitEvent,
  type RateLimitOptions,
} from './rate-limit.ts'

const clock = { now: 1_700_000_000_000 }
const memory = (policy: Omit<Policy, 'algorithm'> & Partial<Pick<Policy, 'algorithm'>>) =>
  createMemoryLimiter(
    { algorithm: 'fixed-window', ...policy },
    { clock: () => clock.now, sweepIntervalMs: 0 }
  )

/** The two forms of one decision: the middleware in front of the handler, or the handler wrapped. */
const FORMS = ['rateLimit', 'withRateLimit'] as const
type Form = (typeof FORMS)[number]

/** One limited route in `form`; the handler answers the status in `?status=` (default 200). */
function appWithForm(
  form: Form,
  options: Partial<RateLimitOptions> & Pick<RateLimitOptions, 'limiters'>
) {
  const events: RateLimitEvent[] = []
  const app = new Hono()
  app.onError((error, c) =>
    c.json({ error: error.name, field: (error as InvalidRequestError).field }, 400)
  )
  const limiterOptions: RateLimitOptions = {
    key: (c) => c.req.header('x-client') ?? 'anonymous',
    onEvent: (event) => events.push(event),
    clock: () => clock.now,
    ...options,
  }
  const handler: Handler = (c) => c.json({ ok: true }, Number(c.req.query('status') ?? 200) as 200)
  if (form === 'rateLimit') app.get('/r', rateLimit(limiterOptions), handler)
  else app.get('/r', withRateLimit(limiterOptions, handler))
  const get = (headers: Record<string, string> = {}, query = '') =>
    app.request(`/r${query}`, { headers })
  return { app, events, get }
}

describe.each(FORMS)('%s', (form) => {
  const appWith = (options: Parameters<typeof appWithForm>[1]) => appWithForm(form, options)

  it('when allowed, answers the handler with RateLimit-Policy and RateLimit for the policy', async () => {
    const { get } = appWith({ limiters: [memory({ name: 'api', limit: 10, windowMs: 60_000 })] })

    const response = await get()

    expect(response.status).toBe(200)
    expect(response.headers.get('ratelimit-policy')).toBe('"api";q=10;w=60')
    const [limit] = parseRateLimit(response.headers.get('ratelimit'))
    expect(limit).toMatchObject({ name: 'api', remaining: 9 })
    expect(limit?.resetSeconds).toBeGreaterThanOrEqual(1)
    expect(limit?.resetSeconds).toBeLessThanOrEqual(60)
  })

  it('when over the limit, answers 429 problem+json with Retry-After equal to t (>= 1)', async () => {
    const { get } = appWith({ limiters: [memory({ name: 'api', limit: 2, windowMs: 10_000 })] })
    await get()
    await get()

    const response = await get()

    expect(response.status).toBe(429)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
      title: 'Too Many Requests',
      status: 429,
      'violated-policies': ['api'],
    })
    const retryAfter = Number(response.headers.get('retry-after'))
    const [limit] = parseRateLimit(response.headers.get('ratelimit'))
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true)
    expect(limit).toMatchObject({ remaining: 0, resetSeconds: retryAfter })
  })

  it('when retry jitter is set, spreads refusals over the jitter range, never earlier, with Retry-After equal to t', async () => {
    const draws = [0, 3, 5, 1]
    const { get } = appWith({
      limiters: [memory({ name: 'api', limit: 1, windowMs: 10_000 })],
      retryJitterSeconds: 5,
      randomInt: (max) => {
        expect(max).toBe(5)
        return draws.shift() ?? 0
      },
    })
    await get()

    const refusals = [await get(), await get(), await get(), await get()]

    const waits = refusals.map((response) => Number(response.headers.get('retry-after')))
    // The clock stands still, so without jitter every refusal would say 10 s.
    expect(waits).toEqual([10, 13, 15, 11])
    for (const [i, response] of refusals.entries()) {
      expect(parseRateLimit(response.headers.get('ratelimit'))[0]?.resetSeconds).toBe(waits[i])
    }
  })

  it('when retry jitter is set, allowed answers keep their exact t and draw nothing', async () => {
    const { get } = appWith({
      limiters: [memory({ name: 'api', limit: 5, windowMs: 10_000 })],
      retryJitterSeconds: 5,
      randomInt: () => {
        throw new Error('no draw on an allowed request')
      },
    })

    const response = await get()

    expect(response.status).toBe(200)
    expect(parseRateLimit(response.headers.get('ratelimit'))[0]?.resetSeconds).toBe(10)
  })

  it('when retry jitter is negative or fractional, refuses to build the middleware', () => {
    const limiters = [memory({ name: 'api', limit: 1, windowMs: 1000 })]
    const key = () => 'k'

    expect(() => rateLimit({ limiters, key, retryJitterSeconds: -1 })).toThrow(/retryJitterSeconds/)
    expect(() => rateLimit({ limiters, key, retryJitterSeconds: 1.5 })).toThrow(
      /retryJitterSeconds/
    )
  })

  it('when two limits apply and the burst one denies, names only it and spends nothing', async () => {
    const burst = memory({ name: 'burst', limit: 1, windowMs: 1000 })
    const minute = memory({ name: 'minute', limit: 100, windowMs: 60_000 })
    const { get } = appWith({ limiters: [burst, minute] })
    await get()

    const denied = await get()

    expect(denied.status).toBe(429)
    expect(await denied.json()).toMatchObject({ 'violated-policies': ['burst'] })
    expect(parseRateLimitPolicy(denied.headers.get('ratelimit-policy')).map((p) => p.name)).toEqual(
      ['burst', 'minute']
    )
    expect((await minute.consume('anonymous', 0)).remaining).toBe(99)
  })

  it('when rateLimitField is most-restrictive, RateLimit lists only the tightest policy', async () => {
    const { get } = appWith({
      limiters: [
        memory({ name: 'loose', limit: 100, windowMs: 60_000 }),
        memory({ name: 'tight', limit: 3, windowMs: 1000 }),
      ],
      rateLimitField: 'most-restrictive',
    })

    const response = await get()

    expect(parseRateLimit(response.headers.get('ratelimit'))).toMatchObject([
      { name: 'tight', remaining: 2 },
    ])
  })

  it('when the cost is a function, charges what it returns', async () => {
    const limiter = memory({ name: 'api', limit: 10, windowMs: 60_000 })
    const { get } = appWith({ limiters: [limiter], cost: (c) => Number(c.req.query('cost')) })

    const response = await get({}, '?cost=4')

    expect(parseRateLimit(response.headers.get('ratelimit'))[0]?.remaining).toBe(6)
  })

  it('when the cost is negative, lets InvalidRequestError reach onError naming "cost"', async () => {
    const { get } = appWith({
      limiters: [memory({ name: 'api', limit: 10, windowMs: 60_000 })],
      cost: () => -1,
    })

    const response = await get()

    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({ error: 'InvalidRequestError', field: 'cost' })
  })

  it('when a memory limiter meets a key too long, rejects (never throws) with InvalidRequestError naming "key"', async () => {
    const options: RateLimitOptions = {
      limiters: [memory({ name: 'api', limit: 10, windowMs: 60_000 })],
      key: () => 'k'.repeat(600),
    }
    const handler = vi.fn<Handler>((c) => c.text('ok'))
    const next = vi.fn(async () => {})
    const context = {} as Context

    // Called as plain functions: a synchronous throw would escape `expect(...).rejects`.
    const outcome =
      form === 'rateLimit'
        ? rateLimit(options)(context, next)
        : withRateLimit(options, handler)(context, next)

    await expect(outcome).rejects.toMatchObject({ name: 'InvalidRequestError', field: 'key' })
    expect(next).not.toHaveBeenCalled()
    expect(handler).not.toHaveBeenCalled()
  })

  it('when limiters depend on the request, applies the chosen tier', async () => {
    const free = [memory({ name: 'free', limit: 1, windowMs: 60_000 })]
    const pro = [memory({ name: 'pro', limit: 1000, windowMs: 60_000 })]
    const { get } = appWith({ limiters: (c) => (c.req.header('x-tier') === 'pro' ? pro : free) })

    const response = await get({ 'x-tier': 'pro' })

    expect(response.headers.get('ratelimit-policy')).toBe('"pro";q=1000;w=60')
  })

  it('when no limiter applies to the request, passes it without headers or events', async () => {
    const { get, events } = appWith({ limiters: () => [] })

    const response = await get()

    expect(response.status).toBe(200)
    expect(response.headers.get('ratelimit')).toBeNull()
    expect(events).toEqual([])
  })

  it('when the handler answers 5xx and refundWhen says so, gives the units back', async () => {
    const limiter = memory({ name: 'api', limit: 5, windowMs: 60_000 })
    const { get } = appWith({ limiters: [limiter], refundWhen: (c) => c.res.status >= 500 })

    await get({}, '?status=503')
    await new Promise((resolve) => setImmediate(resolve)) // the refund is not awaited by design

    expect((await limiter.consume('anonymous', 0)).remaining).toBe(5)
  })

  it('when the handler succeeds, refunds nothing', async () => {
    const limiter = memory({ name: 'api', limit: 5, windowMs: 60_000 })
    const { get } = appWith({ limiters: [limiter], refundWhen: (c) => c.res.status >= 500 })

    await get()
    await new Promise((resolve) => setImmediate(resolve))

    expect((await limiter.consume('anonymous', 0)).remaining).toBe(4)
  })

  it('when shadow mode lets a denied request through and its handler fails, refunds nothing (it consumed nothing)', async () => {
    const limiter = memory({ name: 'api', limit: 1, windowMs: 60_000 })
    const { get } = appWith({
      limiters: [limiter],
      shadow: true,
      refundWhen: (c) => c.res.status >= 500,
    })
    await get()

    await get({}, '?status=503')
    await new Promise((resolve) => setImmediate(resolve))

    expect((await limiter.consume('anonymous', 0)).remaining).toBe(0)
  })

  it('when in shadow mode and over the limit, lets the request through and reports it', async () => {
    const { get, events } = appWith({
      limiters: [memory({ name: 'api', limit: 1, windowMs: 60_000 })],
      shadow: true,
    })
    await get()

    const response = await get()

    expect(response.status).toBe(200)
    expect(parseRateLimit(response.headers.get('ratelimit'))[0]?.remaining).toBe(0)
    expect(events.at(-1)).toMatchObject({ type: 'decision', allowed: false, shadowed: true })
  })

  it('when the store fails closed, answers 503 temporary-reduced-capacity without a hang', async () => {
    const { get, events } = appWith({ limiters: [failingLimiter('api')] })

    const response = await get()

    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('1')
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toMatchObject({
      type: 'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity',
    })
    // No policy was exceeded, so none is named; the policies of the resource are still listed.
    expect(body).not.toHaveProperty('violated-policies')
    expect(response.headers.get('ratelimit-policy')).toMatch(/^"api";q=/)
    expect(events).toMatchObject([{ type: 'store-unavailable', shadowed: false }])
  })

  it('when the store fails closed in shadow mode, still lets the request through', async () => {
    const { get } = appWith({ limiters: [failingLimiter('api')], shadow: true })

    const response = await get()

    expect(response.status).toBe(200)
  })

  it('when legacy headers are on, sends X-RateLimit-* consistent with RateLimit', async () => {
    const { get } = appWith({
      limiters: [memory({ name: 'api', limit: 10, windowMs: 60_000 })],
      legacyHeaders: true,
    })

    const response = await get()

    expect(response.headers.get('x-ratelimit-limit')).toBe('10')
    expect(response.headers.get('x-ratelimit-remaining')).toBe('9')
    const reset = Number(response.headers.get('x-ratelimit-reset'))
    const t = parseRateLimit(response.headers.get('ratelimit'))[0]?.resetSeconds ?? -1
    expect(reset).toBe(Math.ceil(clock.now / 1000) + t)
  })

  it('when every decision is made, emits one decision event with its duration', async () => {
    const { get, events } = appWith({
      limiters: [memory({ name: 'api', limit: 3, windowMs: 1000 })],
    })

    await get()

    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ type: 'decision', allowed: true, shadowed: false, cost: 1 })
  })
})

describe('withRateLimit', () => {
  it('on a route of its own in front of a synchronous handler, a memory limiter answers without a promise', () => {
    const { app } = appWithForm('withRateLimit', {
      limiters: [memory({ name: 'api', limit: 1, windowMs: 60_000 })],
    })

    const allowed = app.fetch(new Request('http://localhost/r'))
    const refused = app.fetch(new Request('http://localhost/r'))

    // What the form is for: Hono dispatches a one-handler route without its middleware chain.
    expect(allowed).toBeInstanceOf(Response)
    expect(parseRateLimit((allowed as Response).headers.get('ratelimit'))[0]?.remaining).toBe(0)
    expect(refused).toBeInstanceOf(Response)
    expect((refused as Response).status).toBe(429)
  })

  it('the middleware on the same route answers through a promise (Hono composes the chain)', () => {
    const { app } = appWithForm('rateLimit', {
      limiters: [memory({ name: 'api', limit: 1, windowMs: 60_000 })],
    })

    expect(app.fetch(new Request('http://localhost/r'))).toBeInstanceOf(Promise)
  })
})

function failingLimiter(name: string): Limiter {
  const policy: Policy = { name, algorithm: 'fixed-window', limit: 1, windowMs: 1000 }
  const fail = async (): Promise<never> => {
    throw new StoreUnavailableError()
  }
  return { policy, consume: fail, refund: fail, reset: fail }
}
