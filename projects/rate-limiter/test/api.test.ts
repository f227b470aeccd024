import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseRateLimit, parseRateLimitPolicy } from '../src/middleware/ratelimit-header-parser.ts'
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
        code: 'validation_failed',
        errors: [{ path: 'q' }],
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
        code: 'invalid_rate_limit_request',
        errors: [{ path: 'cost' }],
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
      const client = newClient()
      for (let i = 0; i < 4; i++) await get('/api/resource', client)

      const text = await (await get('/metrics')).text()

      expect(text).toMatch(/rate_limit_allowed_total\{policy="default",backend="memory"\} \d+/)
      expect(text).toMatch(/rate_limit_limited_total\{policy="default",backend="memory"\} [1-9]/)
      expect(text).toMatch(
        /rate_limit_decision_duration_seconds_bucket\{le="0.001",policy="default"/
      )
    })
  })
})

describe('POST /api/decisions, bounded (memory backend)', () => {
  const CAP = 200
  let service: RunningService
  let lastOctet = 0
  const decide = (key: string, client = '203.0.113.1') =>
    fetch(`${service.url}/api/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
      body: JSON.stringify({ policy: 'default', key }),
    })

  beforeAll(async () => {
    service = await startService({
      MEMORY_MAX_KEYS: String(CAP),
      TRUST_PROXY: '1',
      POLICIES: policies({
        policies: {
          default: { limit: 2, windowMs: 60_000 },
          decisions: { limit: 50, windowMs: 60_000 },
        },
      }),
    })
  })
  afterAll(() => service.stop())

  it('when far more keys are decided than the cap, holds at most the cap and evicts the least recently used', async () => {
    const limiter = service.limits.byPolicy.get('default') as unknown as { size: number }
    // 'idle' and 'busy' spend their quota; 'busy' keeps being decided while new keys arrive.
    for (const key of ['idle', 'idle', 'busy', 'busy']) await decide(key)
    for (let batch = 0; batch < 5; batch++) {
      await Promise.all(
        Array.from({ length: CAP / 2 }, (_, i) =>
          decide(`k-${batch}-${i}`, `203.0.113.${++lastOctet % 250}`)
        )
      )
      await decide('busy')
    }

    const idle = (await (await decide('idle')).json()) as { allowed: boolean }
    const busy = (await (await decide('busy')).json()) as { allowed: boolean }

    expect(limiter.size).toBeLessThanOrEqual(CAP)
    // Evicted: it starts afresh. Still held: still refused.
    expect(idle.allowed).toBe(true)
    expect(busy.allowed).toBe(false)
  })

  it('when one client sends more decisions than the route allows, answers 429 problem details naming the route policy', async () => {
    const client = '198.51.100.200'
    const { limit } = service.config.POLICIES.policies.decisions!
    const statuses: number[] = []
    for (let i = 0; i <= limit; i++) statuses.push((await decide(`spam-${i}`, client)).status)
    const refused = await decide('one-more', client)

    expect(statuses.filter((status) => status === 200)).toHaveLength(limit)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('content-type')).toBe('application/problem+json')
    expect(await refused.json()).toMatchObject({ 'violated-policies': ['decisions'] })
  })

  it('when a key is not an identifier (spaces, over 128 characters), answers 400 stating the allowed pattern', async () => {
    const responses = await Promise.all([decide('has space'), decide('k'.repeat(129))])

    for (const response of responses) {
      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({
        errors: [
          {
            path: 'key',
            message: expect.stringMatching(/1-128 characters of A-Z a-z 0-9/) as string,
          },
        ],
      })
    }
  })

  it("when a decision is denied, answers 200 with allowed false: 429 is kept for the route's own limit", async () => {
    await decide('denied-key')
    await decide('denied-key')

    const response = await decide('denied-key')

    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ allowed: false, remaining: 0 })
  })
})
