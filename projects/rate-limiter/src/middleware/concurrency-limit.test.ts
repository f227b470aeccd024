import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import {
  createMemoryConcurrencyLimiter,
  type ConcurrencyLimiter,
} from '../concurrency/concurrency-limiter.ts'
import { parseRateLimit } from '../headers/ratelimit-header-parser.ts'
import { concurrencyLimit, type ConcurrencyLimitOptions } from './concurrency-limit.ts'

/** A route whose handler waits until the test lets it finish, so requests stay in flight. */
function appWith(options: Omit<ConcurrencyLimitOptions, 'name' | 'key'>) {
  const gates: Array<() => void> = []
  const app = new Hono()
  app.post(
    '/uploads',
    concurrencyLimit({ name: 'uploads', key: () => 'client', ...options }),
    async (c) => {
      await new Promise<void>((resolve) => gates.push(resolve))
      return c.json({ ok: true }, 201)
    }
  )
  const post = () => app.request('/uploads', { method: 'POST' })
  const untilWaiting = async (count: number) => {
    while (gates.length < count) await new Promise((resolve) => setImmediate(resolve))
  }
  return { post, gates, untilWaiting }
}

const brokenLimiter: ConcurrencyLimiter = {
  limit: 1,
  acquire: async () => {
    throw new Error('connection refused')
  },
}

describe('concurrencyLimit', () => {
  it('when the slots are taken, answers 429 with the concurrent-requests unit and Retry-After', async () => {
    const { post, gates, untilWaiting } = appWith({
      limiter: createMemoryConcurrencyLimiter({ limit: 2 }),
    })
    const inFlight = [post(), post()]
    await untilWaiting(2)

    const refused = await post()

    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(refused.headers.get('ratelimit-policy')).toBe('"uploads";q=2;qu="concurrent-requests"')
    expect(parseRateLimit(refused.headers.get('ratelimit'))[0]?.remaining).toBe(0)
    for (const open of gates) open()
    expect((await Promise.all(inFlight)).map((r) => r.status)).toEqual([201, 201])
  })

  it('when a request finishes, releases its slot for the next one', async () => {
    const { post, gates, untilWaiting } = appWith({
      limiter: createMemoryConcurrencyLimiter({ limit: 1 }),
    })
    const first = post()
    await untilWaiting(1)
    gates[0]?.()
    await first

    const second = post()
    await untilWaiting(2)
    gates[1]?.()

    expect((await second).status).toBe(201)
  })

  it('when the store fails and the policy is fail-closed, answers 503', async () => {
    const { post } = appWith({ limiter: brokenLimiter, onStoreFailure: 'fail-closed' })

    const response = await post()

    expect(response.status).toBe(503)
    expect(await response.json()).not.toHaveProperty('violated-policies')
  })

  it('when the store fails and the policy is insurance, limits with the fallback', async () => {
    const { post, gates, untilWaiting } = appWith({
      limiter: brokenLimiter,
      onStoreFailure: 'insurance',
      fallback: createMemoryConcurrencyLimiter({ limit: 1 }),
    })
    const first = post()
    await untilWaiting(1)

    const refused = await post()

    expect(refused.status).toBe(429)
    gates[0]?.()
    expect((await first).status).toBe(201)
  })
})
