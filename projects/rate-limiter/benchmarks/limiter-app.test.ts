import { describe, expect, it } from 'vitest'
import { parseRateLimit, parseRateLimitPolicy } from '../src/middleware/ratelimit-header-parser.ts'
import { createLimiterApp } from './limiter-app.ts'
import { serverEnvSchema } from './server-env.ts'

/** The benchmark app of one in-memory variant, keyed by X-Client-Id (no socket in-process). */
function appOf(env: Record<string, string>) {
  return createLimiterApp(
    serverEnvSchema.parse({ PORT: '0', CLIENT_KEY: 'x-client-id', LIMIT: '3', ...env })
  )
}

const get = (headers: Record<string, string> = {}) =>
  new Request('http://localhost/limited', { headers: { 'x-client-id': 'a', ...headers } })

describe('the benchmark app', () => {
  it.each(['kit', 'rlf', 'floor'])('%s answers 200 ok with the draft fields', async (VARIANT) => {
    const { app } = await appOf({ VARIANT })

    const response = await app.fetch(get())

    expect(response.status).toBe(200)
    expect(await response.text()).toBe('ok')
    expect(parseRateLimitPolicy(response.headers.get('ratelimit-policy'))).toMatchObject([
      { name: 'bench', quota: 3 },
    ])
    expect(parseRateLimit(response.headers.get('ratelimit'))[0]?.name).toBe('bench')
  })

  it('the kit counts and refuses', async () => {
    const { app } = await appOf({ VARIANT: 'kit', BLOCK_CACHE: 'false' })

    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await app.fetch(get())).status)

    expect(statuses).toEqual([200, 200, 200, 429])
  })

  it('bare sends no fields', async () => {
    const bare = await appOf({ VARIANT: 'bare' })

    expect((await bare.app.fetch(get())).headers.get('ratelimit')).toBeNull()
  })
})
