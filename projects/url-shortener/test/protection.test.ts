import { createLogger, SECURE_HEADERS } from '@kit/http'
import { afterAll, describe, expect, it } from 'vitest'
import { API_KEY, buildTestApp, countRows, createLink, request, twoInstances } from './helpers.ts'

type ErrorJson = { code: string; detail: string }

/** A request body stream with no Content-Length (chunked on the wire). */
function chunkedBody(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close()
      const chunk = new TextEncoder().encode('x'.repeat(Math.min(1024, bytes - sent)))
      sent += chunk.length
      controller.enqueue(chunk)
    },
  })
}

describe('body limit', () => {
  const { app, database, close } = buildTestApp()
  afterAll(close)
  const oversized = JSON.stringify({ url: `https://example.com/?q=${'a'.repeat(17 * 1024)}` })

  it('when the body is over 16 KiB with Content-Length, responds 413 and stores nothing', async () => {
    const before = countRows(database)

    const res = await request(app, 'POST', '/api/links', { body: oversized, key: false })

    expect(res.status).toBe(413)
    expect(((await res.json()) as ErrorJson).code).toBe('payload_too_large')
    expect(countRows(database)).toBe(before)
  })

  it('when the body is over 16 KiB without Content-Length, responds 413', async () => {
    const res = await app.request('/api/links', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: chunkedBody(17 * 1024),
      duplex: 'half',
    })

    expect(res.status).toBe(413)
    expect(((await res.json()) as ErrorJson).code).toBe('payload_too_large')
  })

  it('when the body is just under 16 KiB, it is not refused for its size', async () => {
    const body = JSON.stringify({ url: `https://example.com/?q=${'a'.repeat(16 * 1024 - 60)}` })

    const res = await request(app, 'POST', '/api/links', { body, key: false })

    expect(body.length).toBeLessThan(16 * 1024)
    expect(res.status).toBe(400)
    expect(await res.text()).toMatch(/"path":"url"/)
  })
})

describe('creation rate limit', () => {
  const { app, close } = buildTestApp({ env: { CREATE_RATE_LIMIT: '5' } })
  afterAll(close)

  it('when an anonymous client creates more than the limit, the next create gets 429 with Retry-After', async () => {
    const allowed = []
    for (let i = 0; i < 5; i++) {
      allowed.push(
        (
          await request(app, 'POST', '/api/links', {
            body: { url: `https://example.com/${i}` },
            key: false,
          })
        ).status
      )
    }

    const refused = await request(app, 'POST', '/api/links', {
      body: { url: 'https://example.com/6' },
      key: false,
    })

    expect(allowed).toEqual([201, 201, 201, 201, 201])
    expect(refused.status).toBe(429)
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(((await refused.json()) as ErrorJson).code).toBe('rate_limited')
  })

  it('when the client presents the API key, the anonymous limit does not apply', async () => {
    const res = await request(app, 'POST', '/api/links', {
      body: { url: 'https://example.com/keyed' },
    })

    expect(res.status).toBe(201)
  })
})

describe('creation rate limit shared through Redis', () => {
  const { a, b } = twoInstances({ env: { CREATE_RATE_LIMIT: '4' } })

  it('when one client creates on two instances, the budget is counted once across both', async () => {
    const create = (instance: typeof a) =>
      request(instance.app, 'POST', '/api/links', {
        body: { url: 'https://example.com/shared' },
        key: false,
      }).then((res) => res.status)

    const statuses = [await create(a), await create(b), await create(a), await create(b)]
    const fifth = await create(b)

    expect(statuses).toEqual([201, 201, 201, 201])
    expect(fifth).toBe(429)
  })
})

describe('API key', () => {
  const { app, close } = buildTestApp()
  afterAll(close)

  const managementRoutes = [
    ['GET', '/api/links'],
    ['GET', '/api/links/export.csv'],
    ['POST', '/api/links/bulk'],
    ['POST', '/api/links/import'],
    ['GET', '/api/links/some-code'],
    ['PATCH', '/api/links/some-code'],
    ['DELETE', '/api/links/some-code'],
    ['GET', '/api/links/some-code/stats'],
    ['GET', '/api/links/some-code/stats/timeseries'],
    ['GET', '/metrics'],
  ] as const

  it('when a management route is called without a key or with a wrong one, responds 401', async () => {
    const statuses = await Promise.all(
      managementRoutes.flatMap(([method, path]) => [
        request(app, method, path, { key: false }).then((res) => ({
          method,
          path,
          status: res.status,
          auth: res.headers.get('www-authenticate'),
        })),
        request(app, method, path, { key: 'wrong-key-0123456789' }).then((res) => ({
          method,
          path,
          status: res.status,
          auth: res.headers.get('www-authenticate'),
        })),
      ])
    )

    expect(statuses).toHaveLength(managementRoutes.length * 2)
    expect(
      statuses.filter(({ status, auth }) => status !== 401 || !auth?.startsWith('Bearer'))
    ).toEqual([])
  })

  it('when /metrics is scraped, counts are counters named _total that only grow, states are gauges', async () => {
    const { code } = await createLink(app, { url: 'https://example.com/counted' })
    const scrape = async () => (await request(app, 'GET', '/metrics')).text()
    const value = (text: string, name: string) =>
      Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1])

    const before = await scrape()
    for (let i = 0; i < 3; i++) await app.request(`/${code}`)
    await app.request('/no-such-code')
    const after = await scrape()

    for (const name of [
      'url_shortener_cache_hits_total',
      'url_shortener_cache_misses_total',
      'url_shortener_cache_errors_total',
      'url_shortener_code_collision_retries_total',
      'url_shortener_redirects_total',
      'url_shortener_redirect_not_found_total',
    ]) {
      expect(after, name).toContain(`# TYPE ${name} counter`)
    }
    expect(after).toContain('# TYPE url_shortener_cache_degraded gauge')
    expect(after).toContain('# TYPE url_shortener_clicks_pending gauge')
    expect(value(after, 'url_shortener_redirects_total')).toBe(
      value(before, 'url_shortener_redirects_total') + 3
    )
    expect(value(after, 'url_shortener_redirect_not_found_total')).toBe(
      value(before, 'url_shortener_redirect_not_found_total') + 1
    )
  })

  it('when the key comes as Bearer token or X-API-Key, both are accepted', async () => {
    const bearer = await request(app, 'GET', '/api/links', {
      key: false,
      headers: { Authorization: `Bearer ${API_KEY}` },
    })
    const header = await request(app, 'GET', '/api/links', { key: API_KEY })

    expect(bearer.status).toBe(200)
    expect(header.status).toBe(200)
  })

  it('when a create presents a wrong key, responds 401 rather than treating it as anonymous', async () => {
    const res = await request(app, 'POST', '/api/links', {
      body: { url: 'https://example.com' },
      key: 'wrong-key-0123456789',
    })

    expect(res.status).toBe(401)
  })
})

describe('ANONYMOUS_CREATE=false', () => {
  const { app, close } = buildTestApp({ env: { ANONYMOUS_CREATE: 'false' } })
  afterAll(close)

  it('when a create comes without a key, responds 401; with the key, 201', async () => {
    const anonymous = await request(app, 'POST', '/api/links', {
      body: { url: 'https://example.com' },
      key: false,
    })
    const keyed = await request(app, 'POST', '/api/links', { body: { url: 'https://example.com' } })

    expect(anonymous.status).toBe(401)
    expect(keyed.status).toBe(201)
  })
})

describe('access log', () => {
  /** The app's log lines, parsed, with the access log at `level`. */
  function appLogging(level: string) {
    const lines: Record<string, unknown>[] = []
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
    })
    return { ...buildTestApp({ env: { ACCESS_LOG: level }, logger }), lines }
  }

  it('when ACCESS_LOG=info, a redirect and an API call each write one line with the request id', async () => {
    const { app, lines, close } = appLogging('info')
    const { code } = await createLink(app, { url: 'https://example.com/logged' })

    await app.request(`/${code}`, { headers: { 'X-Request-Id': 'logged-redirect' } })
    const access = lines.filter((line) => line.msg === 'request')
    await close()

    expect(access).toEqual([
      expect.objectContaining({ level: 30, method: 'POST', path: '/api/links', status: 201 }),
      expect.objectContaining({
        level: 30,
        reqId: 'logged-redirect',
        method: 'GET',
        path: `/${code}`,
        status: 302,
      }),
    ])
  })

  it('when ACCESS_LOG is off (the default) or below LOG_LEVEL, no request is logged', async () => {
    const off = appLogging('off')
    const belowLevel = appLogging('debug')
    const { code } = await createLink(off.app, { url: 'https://example.com/quiet' })

    await off.app.request(`/${code}`)
    await belowLevel.app.request('/healthz')
    await off.close()
    await belowLevel.close()

    expect([...off.lines, ...belowLevel.lines].filter((line) => line.msg === 'request')).toEqual([])
  })
})

describe('headers and unknown routes', () => {
  const { app, close } = buildTestApp()
  afterAll(close)

  it('when any response goes out (200, 302, 404, 413), it carries the secure headers', async () => {
    const created = await request(app, 'POST', '/api/links', {
      body: { url: 'https://example.com' },
      key: false,
    })
    const { code } = (await created.json()) as { code: string }
    const responses = [
      created,
      await app.request(`/${code}`),
      await app.request('/no-such-code'),
      await app.request('/api/nothing/here'),
      await request(app, 'POST', '/api/links', { body: 'x'.repeat(20_000), key: false }),
    ]

    for (const res of responses) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/)
      expect(res.headers.get('x-powered-by')).toBeNull()
    }
    expect(responses.map((res) => res.status)).toEqual([201, 302, 404, 404, 413])
  })

  it('when a redirect or its 404 goes out, it carries the same security headers as every route and an X-Request-Id', async () => {
    const { code } = await createLink(app, { url: 'https://example.com/same-headers' })
    const securityHeaders = (res: Response) =>
      Object.fromEntries([...res.headers].filter(([name]) => name in SECURE_HEADERS))

    const viaHealth = await app.request('/healthz')
    const redirect = await app.request(`/${code}`, { headers: { 'X-Request-Id': 'trace-me-42' } })
    const missing = await app.request('/no-such-code')

    expect(Object.keys(securityHeaders(viaHealth)).sort()).toEqual(
      Object.keys(SECURE_HEADERS).sort()
    )
    expect(securityHeaders(redirect)).toEqual(securityHeaders(viaHealth))
    expect(securityHeaders(missing)).toEqual(securityHeaders(viaHealth))
    expect(redirect.headers.get('x-request-id')).toBe('trace-me-42')
    expect(missing.headers.get('x-request-id')).toMatch(/^[\w-]+$/)
  })

  it('when /healthz is asked, answers 200 without touching a dependency', async () => {
    const res = await app.request('/healthz')

    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })
})
