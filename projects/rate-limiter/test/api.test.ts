import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseRateLimit, parseRateLimitPolicy } from '../src/headers/ratelimit-header-parser.ts'
import { policies, startService, statusCounts, type RunningService } from './helpers.ts'

let lastOctet = 0
/** A client address of its own for each test (the service trusts one proxy hop: this test). */
const newClient = () => ({ 'x-forwarded-for': `198.51.100.${++lastOctet}` })

// The memory backend (no REDIS_URL): the HTTP contract, over a real socket.
describe('the demo service (memory backend)', () => {
  let service: RunningService
  const get = (path: string, headers: Record<string, string> = newClient()) =>
    fetch(`${service.url}${path}`, { headers })
  const postJson = (path: string, body: unknown, headers = newClient()) =>
    fetch(`${service.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })

  beforeAll(async () => {
    service = await startService({
      POLICIES: policies({
        policies: {
          default: { limit: 3, windowMs: 60_000 },
          pro: { limit: 50, windowMs: 60_000 },
          reports: { limit: 12, windowMs: 60_000 },
        },
        routes: { algorithms: { limit: 2, windowMs: 10_000 } },
        apiKeys: { 'demo-pro-key-1': 'pro' },
      }),
      LEGACY_HEADERS: 'true',
      TRUST_PROXY: '1',
    })
  })
  afterAll(() => service.stop())

  describe('GET /api/resource', () => {
    it('when under the limit, answers 200 with RateLimit-Policy and RateLimit per draft-11', async () => {
      const response = await get('/api/resource')

      expect(response.status).toBe(200)
      expect(parseRateLimitPolicy(response.headers.get('ratelimit-policy'))).toMatchObject([
        { name: 'default', quota: 3, windowSeconds: 60 },
      ])
      expect(parseRateLimit(response.headers.get('ratelimit'))[0]).toMatchObject({
        name: 'default',
        remaining: 2,
      })
    })

    it('when over the limit, answers 429 problem+json with Retry-After (>= 1, = t) and X-RateLimit-*', async () => {
      const client = newClient()
      for (let i = 0; i < 3; i++) await get('/api/resource', client)

      const response = await get('/api/resource', client)

      expect(response.status).toBe(429)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      expect(await response.json()).toMatchObject({
        type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
        status: 429,
        'violated-policies': ['default'],
      })
      const retryAfter = Number(response.headers.get('retry-after'))
      const [limit] = parseRateLimit(response.headers.get('ratelimit'))
      expect(retryAfter).toBeGreaterThanOrEqual(1)
      expect(limit?.resetSeconds).toBe(retryAfter)
      expect(response.headers.get('x-ratelimit-limit')).toBe('3')
      expect(response.headers.get('x-ratelimit-remaining')).toBe('0')
    })

    it('when the API key belongs to the pro tier, applies its policy to a quota of its own', async () => {
      const client = newClient()
      for (let i = 0; i < 3; i++) await get('/api/resource', client)

      const response = await get('/api/resource', { ...client, 'x-api-key': 'demo-pro-key-1' })

      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ resource: 'ok', tier: 'pro' })
      expect(response.headers.get('ratelimit-policy')).toBe('"pro";q=50;w=60')
    })

    it('when the API key is unknown, treats the caller as anonymous (no fresh quota per made-up key)', async () => {
      const client = newClient()
      for (let i = 0; i < 3; i++) await get('/api/resource', client)

      const response = await get('/api/resource', { ...client, 'x-api-key': 'made-up-key-123' })

      expect(response.status).toBe(429)
    })
  })

  describe('POST /api/reports', () => {
    it('when a report costs 5 of 12 units, the third one is refused', async () => {
      const client = newClient()
      const first = await postJson('/api/reports', {}, client)
      const second = await postJson('/api/reports', {}, client)

      const third = await postJson('/api/reports', {}, client)

      expect([first.status, second.status, third.status]).toEqual([202, 202, 429])
      expect(parseRateLimit(second.headers.get('ratelimit'))[0]?.remaining).toBe(2)
    })
  })

  describe('GET /api/search', () => {
    it('when two policies apply, lists both in RateLimit-Policy and RateLimit', async () => {
      const response = await get('/api/search?q=kit')

      expect(response.status).toBe(200)
      expect(response.headers.get('ratelimit-policy')).toBe(
        '"search-burst";q=5;w=1, "search-minute";q=100;w=60'
      )
      expect(parseRateLimit(response.headers.get('ratelimit')).map((l) => l.name)).toEqual([
        'search-burst',
        'search-minute',
      ])
    })

    it('when the burst is spent, refuses naming only the burst policy', async () => {
      const client = newClient()
      const responses = await Promise.all(
        Array.from({ length: 12 }, () => get('/api/search', client))
      )
      const refused = responses.find((response) => response.status === 429)

      expect(statusCounts(responses)[429]).toBeGreaterThan(0)
      expect(await refused?.json()).toMatchObject({ 'violated-policies': ['search-burst'] })
    })

    it('when q is too long, answers 400 naming "q"', async () => {
      const response = await get(`/api/search?q=${'x'.repeat(201)}`)

      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({
        code: 'validation_failed', errors: [{ path: 'q' }],
      })
    })
  })

  describe('GET /api/algorithms/:algorithm', () => {
    it.each(['fixed-window', 'sliding-log', 'sliding-window', 'token-bucket', 'gcra'])(
      'when %s gets 3 requests against 2 per 10 s, admits 2 and refuses 1',
      async (algorithm) => {
        const client = newClient()
        const responses = []
        for (let i = 0; i < 3; i++)
          responses.push(await get(`/api/algorithms/${algorithm}`, client))

        expect(responses.map((response) => response.status)).toEqual([200, 200, 429])
        expect(responses[0]?.headers.get('ratelimit-policy')).toBe(
          `"algorithm-${algorithm}";q=2;w=10`
        )
        expect(Number(responses[2]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      }
    )

    it('when the algorithm is unknown, answers 400 naming "algorithm"', async () => {
      const response = await get('/api/algorithms/leaky-faucet')

      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({ errors: [{ path: 'algorithm' }] })
    })
  })

  describe('POST /api/decisions', () => {
    it('when asked about a key, decides under the named policy and says where the answer came from', async () => {
      const response = await postJson('/api/decisions', { policy: 'pro', key: 'user-7', cost: 10 })

      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({
        allowed: true,
        remaining: 40,
        policy: { name: 'pro', limit: 50, windowSeconds: 60 },
        source: 'store',
      })
    })

    it.each([
      ['an unknown policy', { policy: 'platinum', key: 'k' }, 'policy'],
      ['a key over 503 bytes', { policy: 'pro', key: 'é'.repeat(252) }, 'key'],
      ['a negative cost', { policy: 'pro', key: 'k', cost: -1 }, 'cost'],
      ['a fractional cost', { policy: 'pro', key: 'k', cost: 0.5 }, 'cost'],
    ])('when given %s, answers 400 naming the field', async (_, body, field) => {
      const response = await postJson('/api/decisions', body)

      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({ errors: [{ path: field }] })
    })

    it('when the cost exceeds what the policy can ever hold, answers 400 naming "cost"', async () => {
      const response = await postJson('/api/decisions', { policy: 'pro', key: 'k', cost: 51 })

      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({
        code: 'invalid_rate_limit_request', errors: [{ path: 'cost' }],
      })
    })

    it('when the body is not JSON, answers 400 malformed_json', async () => {
      const response = await fetch(`${service.url}/api/decisions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{nope',
      })

      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({ code: 'malformed_json' })
    })
  })

  describe('GET /readyz and /metrics', () => {
    it('when the backend is memory, is ready and says which store decides', async () => {
      const response = await get('/readyz')

      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({
        status: 'ready',
        store: { backend: 'memory', state: 'up', deciding: 'memory' },
      })
    })

    it('when requests were limited, exposes allowed and limited counters by policy', async () => {
      const text = await (await get('/metrics')).text()

      expect(text).toMatch(/rate_limit_allowed_total\{policy="default",backend="memory"\} \d+/)
      expect(text).toMatch(/rate_limit_limited_total\{policy="default",backend="memory"\} [1-9]/)
      expect(text).toMatch(
        /rate_limit_decision_duration_seconds_bucket\{le="0.001",policy="default"/
      )
    })
  })
})
