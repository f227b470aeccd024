import { describe, expect, it } from 'vitest'
import { parseRateLimit, parseRateLimitPolicy } from '../src/headers/ratelimit-header-parser.ts'
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
  it.each([
    ['kit', 'middleware'],
    ['kit', 'handler'],
    ['rlf', 'middleware'],
    ['floor', 'middleware'],
    ['floor', 'handler'],
  ])('%s as a %s answers 200 ok with the draft fields', async (VARIANT, FORM) => {
    const { app } = await appOf({ VARIANT, FORM })

    const response = await app.fetch(get())

    expect(response.status).toBe(200)
    expect(await response.text()).toBe('ok')
    expect(parseRateLimitPolicy(response.headers.get('ratelimit-policy'))).toMatchObject([
      { name: 'bench', quota: 3 },
    ])
    expect(parseRateLimit(response.headers.get('ratelimit'))[0]?.name).toBe('bench')
  })

  it.each(['middleware', 'handler'])('the kit as a %s counts and refuses', async (FORM) => {
    const { app } = await appOf({ VARIANT: 'kit', FORM, BLOCK_CACHE: 'false' })

    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await app.fetch(get())).status)

    expect(statuses).toEqual([200, 200, 200, 429])
  })

  it('bare sends no fields; the kit as a handler answers without a promise', async () => {
    const bare = await appOf({ VARIANT: 'bare' })
    const handler = await appOf({ VARIANT: 'kit', FORM: 'handler', BLOCK_CACHE: 'false' })

    expect((await bare.app.fetch(get())).headers.get('ratelimit')).toBeNull()
    // What `kit/<algorithm>, handler` measures: Hono's one-handler dispatch, no middleware chain.
    expect(handler.app.fetch(get())).toBeInstanceOf(Response)
  })
})
