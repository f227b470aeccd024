import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { concurrencyLimit, type ConcurrencyLimitOptions } from './concurrency-limit.ts'
import { parseRateLimit, parseRateLimitPolicy } from './ratelimit-header-parser.ts'
import type { ConcurrencyLimiter } from './types.ts'

/** Slots in memory: the smallest concurrency limiter the middleware can drive. */
function slots(limit: number): ConcurrencyLimiter {
  const inFlight = new Map<string, number>()
  return {
    limit,
    acquire(key) {
      const held = inFlight.get(key) ?? 0
      if (held >= limit) return Promise.resolve({ acquired: false, limit, inFlight: held })
      inFlight.set(key, held + 1)
      let released = false
      return Promise.resolve({
        acquired: true,
        limit,
        inFlight: held + 1,
        release() {
          if (!released) inFlight.set(key, (inFlight.get(key) ?? 1) - 1)
          released = true
          return Promise.resolve()
        },
      })
    },
  }
}

const broken: ConcurrencyLimiter = {
  limit: 1,
  acquire: () => Promise.reject(new Error('connection refused')),
}

/** Waits, a bounded number of event-loop turns, until `count` handlers are waiting. */
async function untilWaiting(gates: readonly unknown[], count: number): Promise<void> {
  for (let turn = 0; gates.length < count; turn++) {
    if (turn > 1000) throw new Error(`${gates.length} of ${count} requests reached the handler`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** A route whose handler waits until the test lets it finish, so requests stay in flight. */
function appWith(options: Omit<ConcurrencyLimitOptions, 'name' | 'key'>) {
  const gates: (() => void)[] = []
  const app = new Hono()
  app.post(
    '/uploads',
    concurrencyLimit({ name: 'uploads', key: () => 'client', ...options }),
    async (c) => {
      await new Promise<void>((resolve) => gates.push(resolve))
      return c.json({ ok: true }, 201)
    }
  )
  const post = async () => app.request('/uploads', { method: 'POST' })
  return { post, gates, untilWaiting: (count: number) => untilWaiting(gates, count) }
}

describe('concurrencyLimit', () => {
  it('when the slots are taken, answers 429 with the concurrent-requests unit and Retry-After', async () => {
    const { post, gates, untilWaiting } = appWith({ limiter: slots(2) })
    const inFlight = [post(), post()]
    await untilWaiting(2)

    const refused = await post()

    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(refused.headers.get('ratelimit-policy')).toBe('"uploads";q=2;qu="concurrent-requests"')
    expect(parseRateLimit(refused.headers.get('ratelimit'))[0]?.remaining).toBe(0)
    expect(await refused.json()).toMatchObject({
      code: 'concurrency_limit_exceeded',
      'violated-policies': ['uploads'],
    })
    for (const open of gates) open()
    expect((await Promise.all(inFlight)).map((r) => r.status)).toEqual([201, 201])
  })

  it('when it refuses before a later limit ran, lists the later policies too', async () => {
    const { post, gates, untilWaiting } = appWith({
      limiter: slots(1),
      laterPolicies: () => '"minute";q=30;w=60',
    })
    const first = post()
    await untilWaiting(1)

    const refused = await post()
    gates[0]?.()
    const admitted = await first

    expect(
      parseRateLimitPolicy(refused.headers.get('ratelimit-policy')).map((p) => p.name)
    ).toEqual(['uploads', 'minute'])
    expect(admitted.headers.get('ratelimit-policy')).toBe('"uploads";q=1;qu="concurrent-requests"')
  })

  it('when a request finishes, releases its slot for the next one', async () => {
    const { post, gates, untilWaiting } = appWith({ limiter: slots(1) })
    const first = post()
    await untilWaiting(1)
    gates[0]?.()
    await first

    const second = post()
    await untilWaiting(2)
    gates[1]?.()

    expect((await second).status).toBe(201)
  })

  it('when the store fails and the policy is fail-closed, answers 503 naming no policy', async () => {
    const { post } = appWith({ limiter: broken, onStoreFailure: 'fail-closed' })

    const response = await post()

    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity',
      title: 'Service Unavailable',
      status: 503,
      code: 'store_unavailable',
      detail: 'The concurrency store is unavailable and this service fails closed.',
    })
  })

  it('when the store fails and the policy is insurance, limits with the fallback', async () => {
    const { post, gates, untilWaiting } = appWith({
      limiter: broken,
      onStoreFailure: 'insurance',
      fallback: slots(1),
    })
    const first = post()
    await untilWaiting(1)

    const refused = await post()

    expect(refused.status).toBe(429)
    gates[0]?.()
    expect((await first).status).toBe(201)
  })

  it('when the store fails and the policy is fail-open, admits without a RateLimit member', async () => {
    const { post, gates, untilWaiting } = appWith({ limiter: broken, onStoreFailure: 'fail-open' })
    const pending = post()
    await untilWaiting(1)
    gates[0]?.()

    const response = await pending

    expect(response.status).toBe(201)
    expect(response.headers.get('ratelimit')).toBeNull()
  })
})
