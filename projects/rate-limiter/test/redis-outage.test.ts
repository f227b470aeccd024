import { startRedisServer, waitFor, type RedisServer } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { policies, startService, statusCounts, type RunningService } from './helpers.ts'

// Redis killed mid-run, in each outage policy. A private redis-server
// per mode: this file kills it.
const TIMEOUT_MS = 100
// Seen by the client, a request may take longer than the limiter's timeout (HTTP on loopback on
// a busy 2-core box); a hang would be ioredis' own 500 ms command timeout or forever.
const CLIENT_SLACK_MS = 900
// Seen by the server, no decision may take longer than this histogram bucket: a frozen Redis is
// found down after a call waited the timeout and a ping another (plus lag).
const DECISION_BOUND = '0.5'

type Timed = { response: Response; ms: number }
/** The parts of /readyz these tests read. */
type Readiness = {
  status: string
  checks?: Record<string, string>
  store?: { backend: string; state: string; onStoreFailure: string; deciding: string }
}

/** Decisions of the `default` policy that took longer than `bound` seconds, from /metrics. */
function decisionsSlowerThan(metricsText: string, bound: string): number {
  const series = (suffix: string, labels: string) =>
    Number(
      new RegExp(`rate_limit_decision_duration_seconds_${suffix}\\{${labels}\\} (\\d+)`).exec(
        metricsText
      )?.[1] ?? Number.NaN
    )
  const total = series('count', 'policy="default",backend="redis"')
  const within = series('bucket', `le="${bound}",policy="default",backend="redis"`)
  return total - within
}

describe.each(['fail-open', 'fail-closed', 'insurance'] as const)('STORE_FAILURE=%s', (mode) => {
  let redis: RedisServer
  let service: RunningService
  let client = 0
  const newClient = () => `203.0.113.${++client}`

  async function request(path: string, ip: string, init: RequestInit = {}): Promise<Timed> {
    const started = performance.now()
    const response = await fetch(`${service.url}${path}`, {
      ...init,
      headers: { 'x-forwarded-for': ip, 'content-type': 'application/json', ...init.headers },
    })
    await response.clone().arrayBuffer()
    return { response, ms: performance.now() - started }
  }
  const resource = (ip: string) => request('/api/resource', ip)
  const decisionSource = async () => {
    const { response } = await request('/api/decisions', newClient(), {
      method: 'POST',
      body: JSON.stringify({ policy: 'default', key: `probe-${client}` }),
    })
    return response.status === 503
      ? 'refused'
      : ((await response.json()) as { source: string }).source
  }
  const readiness = async () => {
    const response = await fetch(`${service.url}/readyz`)
    return { status: response.status, body: (await response.json()) as Readiness }
  }
  const metrics = async () => (await fetch(`${service.url}/metrics`)).text()

  beforeAll(async () => {
    redis = await startRedisServer()
    service = await startService({
      REDIS_URL: redis.url,
      STORE_FAILURE: mode,
      REDIS_TIMEOUT_MS: String(TIMEOUT_MS),
      TRUST_PROXY: '1',
      POLICIES: policies({ policies: { default: { limit: 5, windowMs: 60_000 } } }),
    })
  })
  afterAll(async () => {
    await service.stop()
    await redis.stop()
  })

  it('when Redis is killed mid-run, no request hangs, the policy holds and Redis takes over again within 5 s', async () => {
    expect(await decisionSource()).toBe('store')
    // Open the client's connections first, so the timings below are not connection set-up.
    await Promise.all(Array.from({ length: 40 }, () => resource(newClient())))

    // Kill Redis while 40 requests are in flight, then keep asking.
    const inFlight = Array.from({ length: 40 }, () => resource(newClient()))
    await redis.kill()
    const duringKill = await Promise.all(inFlight)
    await waitFor(async () => (await readiness()).body.store?.state === 'down', {
      message: 'readyz never saw the store down',
    })
    const oneClient = newClient()
    const outage: Timed[] = []
    for (let i = 0; i < 8; i++) outage.push(await resource(oneClient))
    const ready = await readiness()
    const scraped = await metrics()

    const slowest = Math.max(...[...duringKill, ...outage].map((timed) => timed.ms))
    expect(slowest).toBeLessThan(TIMEOUT_MS + CLIENT_SLACK_MS)
    expect(decisionsSlowerThan(scraped, DECISION_BOUND)).toBe(0)
    expect(scraped).toMatch(/rate_limit_store_up\{backend="redis"\} 0/)
    expect(scraped).toMatch(
      /rate_limit_store_failures_total\{policy="default",backend="redis"\} [1-9]/
    )
    expect(ready.body.store).toMatchObject({
      backend: 'redis',
      state: 'down',
      onStoreFailure: mode,
    })
    const statuses = statusCounts(outage.map((timed) => timed.response))
    // The policy is the resource's, whatever decides; the client's standing is not known.
    for (const { response } of outage) {
      expect(response.headers.get('ratelimit-policy')).toBe('"default";q=5;w=60')
    }
    if (mode === 'fail-open') {
      // Admits everything, and says so: Envoy's failure_mode_allowed. No standing is made up.
      expect(statuses).toEqual({ 200: 8 })
      expect(outage.map(({ response }) => response.headers.get('ratelimit'))).toEqual(
        Array(8).fill(null)
      )
      expect(scraped).toMatch(
        /rate_limit_failure_mode_allowed_total\{policy="default",backend="redis"\} [1-9]/
      )
      expect(ready).toMatchObject({
        status: 200,
        body: { status: 'degraded', store: { deciding: 'fail-open' } },
      })
    } else if (mode === 'fail-closed') {
      expect(statuses).toEqual({ 503: 8 })
      const body = (await outage[0]?.response.json()) as Record<string, unknown>
      expect(body).toMatchObject({
        type: 'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity',
      })
      // No policy was exceeded: none is named.
      expect(body).not.toHaveProperty('violated-policies')
      expect(scraped).toMatch(
        /rate_limit_failure_mode_denied_total\{policy="default",backend="redis"\} [1-9]/
      )
      expect(ready).toMatchObject({ status: 503, body: { status: 'unavailable' } })
    } else {
      // Still limiting, per process: 5 pass, the rest are refused.
      expect(statuses).toEqual({ 200: 5, 429: 3 })
      expect(scraped).toMatch(
        /rate_limit_insurance_decisions_total\{policy="default",backend="redis"\} [1-9]/
      )
      expect(ready).toMatchObject({
        status: 200,
        body: { status: 'degraded', store: { deciding: 'insurance' } },
      })
    }

    await redis.restart()
    const backAt = performance.now()
    await waitFor(async () => (await decisionSource()) === 'store', {
      timeoutMs: 5000,
      intervalMs: 50,
      message: 'Redis-backed decisions did not resume within 5 s',
    })

    expect(performance.now() - backAt).toBeLessThan(5000)
    expect((await readiness()).body).toMatchObject({
      status: 'ready',
      store: { state: 'up', deciding: 'redis' },
    })
    expect((await resource(newClient())).response.status).toBe(200)
  })
})

describe('STORE_FAILURE=fail-closed, POST /api/decisions while Redis is down', () => {
  it('when the store is down, answers the RFC 9457 problem the middleware answers: problem+json, temporary-reduced-capacity, store_unavailable, Retry-After', async () => {
    const redis = await startRedisServer()
    const service = await startService({
      REDIS_URL: redis.url,
      STORE_FAILURE: 'fail-closed',
      REDIS_TIMEOUT_MS: String(TIMEOUT_MS),
      // No policy on the route itself: the outage answer is the handler's, not the middleware's.
      POLICIES: policies({ routes: { decisions: { policies: [] } } }),
    })
    onTestFinished(async () => {
      await service.stop()
      await redis.stop()
    })
    const decide = () =>
      fetch(`${service.url}/api/decisions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ policy: 'default', key: 'outage-probe' }),
      })
    const before = await decide()
    await before.arrayBuffer()

    await redis.kill()
    const decision = await decide()
    const decisionBody = (await decision.json()) as Record<string, unknown>
    const resource = await fetch(`${service.url}/api/resource`)
    const resourceBody = (await resource.json()) as Record<string, unknown>

    expect(before.status).toBe(200)
    // No RateLimit-Policy: no middleware limited the route, so the handler answered.
    expect(decision.headers.get('ratelimit-policy')).toBeNull()
    expect(decision.status).toBe(503)
    expect(decision.headers.get('content-type')).toBe('application/problem+json')
    expect(decision.headers.get('retry-after')).toBe('1')
    expect(decisionBody).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity',
      title: 'Service Unavailable',
      status: 503,
      code: 'store_unavailable',
      detail: expect.any(String) as string,
    })
    // One convention: the route answers the outage with what the middleware answers.
    expect(resource.status).toBe(503)
    expect(resource.headers.get('content-type')).toBe('application/problem+json')
    expect(decisionBody).toEqual(resourceBody)
  })
})

describe('STORE_FAILURE=insurance, Redis frozen (SIGSTOP: connections open, nothing answers)', () => {
  /** A private redis-server (this test freezes it) and the service on it, stopped after the test. */
  async function frozenSetup() {
    const redis = await startRedisServer()
    const service = await startService({
      REDIS_URL: redis.url,
      STORE_FAILURE: 'insurance',
      REDIS_TIMEOUT_MS: String(TIMEOUT_MS),
      POLICIES: policies({ policies: { default: { limit: 3, windowMs: 60_000 } } }),
    })
    onTestFinished(async () => {
      redis.resume()
      await service.stop()
      await redis.stop()
    })
    const resource = async () => {
      const response = await fetch(`${service.url}/api/resource`)
      await response.arrayBuffer()
      return response.status
    }
    const readiness = async () => {
      const response = await fetch(`${service.url}/readyz`)
      return { status: response.status, body: (await response.json()) as Readiness }
    }
    const scrape = async () => (await fetch(`${service.url}/metrics`)).text()
    return { redis, service, resource, readiness, scrape }
  }

  it('when Redis stops answering, the first decision waits for the verdict, the next ones do not, insurance limits, and /readyz and the gauge say so', async () => {
    const { redis, resource, readiness, scrape } = await frozenSetup()
    await resource()

    redis.pause()
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push(await resource())
    const ready = await readiness()
    const scraped = await scrape()

    // The insurance limiter starts from zero: 3 pass, then it refuses, as Redis would have.
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    expect(decisionsSlowerThan(scraped, DECISION_BOUND)).toBe(0)
    // Only the first waited (a call's timeout, then a ping's): Redis was down for the others.
    expect(decisionsSlowerThan(scraped, '0.1')).toBe(1)
    expect(scraped).toMatch(
      /rate_limit_insurance_decisions_total\{policy="default",backend="redis"\} 5/
    )
    // What decides is what the service reports.
    expect(scraped).toMatch(/rate_limit_store_up\{backend="redis"\} 0/)
    expect(ready).toMatchObject({
      status: 200,
      body: {
        status: 'degraded',
        checks: { redis: 'down' },
        store: { state: 'down', deciding: 'insurance' },
      },
    })
  })

  it('when Redis is frozen before any request, /readyz finds it down, and up again once it resumes', async () => {
    const { redis, resource, readiness, scrape } = await frozenSetup()
    const before = await readiness()

    redis.pause()
    const frozen = await readiness()
    const gaugeWhileFrozen = await scrape()
    redis.resume()
    const after = await waitFor(
      async () => {
        const ready = await readiness()
        return ready.body.status === 'ready' ? ready : undefined
      },
      { message: '/readyz never saw Redis again' }
    )

    expect(before.body).toMatchObject({ status: 'ready', store: { state: 'up' } })
    expect(frozen.body).toMatchObject({
      status: 'degraded',
      store: { state: 'down', deciding: 'insurance' },
    })
    expect(gaugeWhileFrozen).toMatch(/rate_limit_store_up\{backend="redis"\} 0/)
    expect(after.body).toMatchObject({ store: { state: 'up', deciding: 'redis' } })
    expect(await scrape()).toMatch(/rate_limit_store_up\{backend="redis"\} 1/)
    expect(await resource()).toBe(200)
  })
})
