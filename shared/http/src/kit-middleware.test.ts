import { Hono } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { limitBody } from './body-limit.ts'
import { errorHandler, notFoundHandler, problemResponse } from './errors.ts'
import { kitMiddleware, SECURE_HEADERS } from './kit-middleware.ts'
import { serveApp, type ServedApp } from './serve-app.ts'
import { captureLogger } from './test-helpers.ts'

function buildApp({
  level = 'info',
  accessLog = false,
}: { level?: string; accessLog?: boolean | 'debug' | 'info' } = {}) {
  const { logger, lines } = captureLogger(level)
  const app = new Hono()
  app.use(kitMiddleware({ logger, accessLog }))
  app.get('/ok', (c) => {
    c.header('x-powered-by', 'Express')
    return c.text('ok')
  })
  app.post('/upload', limitBody(10), (c) => c.text('stored'))
  app.get('/returned', () => problemResponse(503, 'redis_unavailable', 'Try again shortly'))
  app.get('/crash', () => {
    throw new Error('boom')
  })
  // A handler that sets secure headers of its own, in a plain-object Response.
  app.get('/own-headers', () => {
    return new Response('mine', {
      headers: { 'X-Frame-Options': 'DENY', 'X-Powered-By': 'PHP', 'x-request-id': 'from-handler' },
    })
  })
  app.notFound(notFoundHandler)
  app.onError(errorHandler({ logger }))
  return { app, lines, logger }
}

/** Sends one request to the app through `app.request()` or over a real socket. */
type Send = (path: string, init?: RequestInit) => Promise<Response>

const answers = [
  ['200', '/ok', 'GET', 200],
  ['404', '/missing', 'GET', 404],
  ['413', '/upload', 'POST', 413],
  ['500', '/crash', 'GET', 500],
  ['503 returned as a plain Response', '/returned', 'GET', 503],
] as const

/** The same expectations, whichever way the app is served. */
function describeHeaders(send: () => Send) {
  it.each(answers)(
    'when the answer is %s, it carries the secure headers and no X-Powered-By',
    async (_, path, method, status) => {
      const res = await send()(path, {
        method,
        body: method === 'POST' ? 'x'.repeat(11) : null,
      })

      expect(res.status).toBe(status)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
      expect(res.headers.get('strict-transport-security')).toBe(
        'max-age=15552000; includeSubDomains'
      )
      expect(res.headers.get('x-powered-by')).toBeNull()
      expect(res.headers.get('x-request-id')).toMatch(/^[\w-]+$/)
    }
  )

  it('when the client sends a valid X-Request-Id, echoes it; when it is unsafe, replaces it', async () => {
    const kept = await send()('/ok', { headers: { 'x-request-id': 'trace-123' } })
    const replaced = await send()('/ok', { headers: { 'x-request-id': 'bad id' } })

    expect(kept.headers.get('x-request-id')).toBe('trace-123')
    expect(replaced.headers.get('x-request-id')).not.toContain('bad')
  })

  it('when no X-Request-Id comes in, each answer gets a different one', async () => {
    const ids = await Promise.all(
      Array.from({ length: 20 }, async () => (await send()('/ok')).headers.get('x-request-id'))
    )

    expect(new Set(ids).size).toBe(20)
  })

  it('when a handler sets secure headers itself, the kit values replace them, its own request id stays', async () => {
    const res = await send()('/own-headers')

    expect(await res.text()).toBe('mine')
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    expect(res.headers.get('x-powered-by')).toBeNull()
    expect(res.headers.get('x-request-id')).toBe('from-handler')
  })
}

describe('SECURE_HEADERS', () => {
  it('when compared with what hono/secure-headers sets by default, is the same list', async () => {
    const app = new Hono().use(secureHeaders()).get('/', (c) => c.text('ok'))

    const res = await app.request('/')

    const hono = Object.fromEntries([...res.headers].filter(([name]) => name !== 'content-type'))
    expect(SECURE_HEADERS).toEqual(hono)
  })
})

describe('kitMiddleware() with app.request()', () => {
  const { app } = buildApp()

  describeHeaders(() => (path, init) => Promise.resolve(app.request(path, init)))
})

describe('kitMiddleware() over a real socket', () => {
  let served: ServedApp

  beforeAll(async () => {
    const { app, logger } = buildApp()
    served = await serveApp(app, { port: 0, hostname: '127.0.0.1', logger, handleSignals: false })
  })
  afterAll(() => served.shutdown())

  describeHeaders(() => (path, init) => fetch(`${served.url}${path}`, init))
})

describe('kitMiddleware() access log', () => {
  it('when accessLog is on at debug level, logs one debug line per 2xx/4xx request', async () => {
    const { app, lines } = buildApp({ level: 'debug', accessLog: true })

    await app.request('/ok', { headers: { 'x-request-id': 'r1' } })
    await app.request('/missing')

    expect(lines).toEqual([
      expect.objectContaining({ level: 20, reqId: 'r1', method: 'GET', path: '/ok', status: 200 }),
      expect.objectContaining({ level: 20, path: '/missing', status: 404 }),
    ])
    expect(lines[0]!.ms).toEqual(expect.any(Number))
  })

  it('when accessLog is on at info level, 2xx requests log nothing and 5xx log an error line', async () => {
    const { app, lines } = buildApp({ level: 'info', accessLog: true })

    await app.request('/ok')
    await app.request('/crash')

    const accessLines = lines.filter((line) => line.msg === 'request')
    expect(accessLines).toEqual([
      expect.objectContaining({ level: 50, path: '/crash', status: 500 }),
    ])
  })

  it("when accessLog is 'info', logs 2xx/4xx requests at info", async () => {
    const { app, lines } = buildApp({ level: 'info', accessLog: 'info' })

    await app.request('/ok')

    expect(lines).toEqual([expect.objectContaining({ level: 30, path: '/ok', status: 200 })])
  })

  it('when accessLog is off, logs nothing even at debug level', async () => {
    const { app, lines } = buildApp({ level: 'debug', accessLog: false })

    await app.request('/ok')

    expect(lines).toEqual([])
  })
})
