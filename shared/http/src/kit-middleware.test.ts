import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { limitBody } from './body-limit.ts'
import { errorHandler, errorResponse, notFoundHandler } from './errors.ts'
import { kitMiddleware } from './kit-middleware.ts'
import { captureLogger } from './test-helpers.ts'

function buildApp({ level = 'info', accessLog = false } = {}) {
  const { logger, lines } = captureLogger(level)
  const app = new Hono()
  app.use(kitMiddleware({ logger, accessLog }))
  app.get('/ok', (c) => {
    c.header('x-powered-by', 'Express')
    return c.text('ok')
  })
  app.post('/upload', limitBody(10), (c) => c.text('stored'))
  app.get('/returned', () => errorResponse(503, 'redis_unavailable', 'Try again shortly'))
  app.get('/crash', () => {
    throw new Error('boom')
  })
  app.notFound(notFoundHandler)
  app.onError(errorHandler({ logger }))
  return { app, lines }
}

describe('kitMiddleware()', () => {
  it.each([
    ['200', '/ok', 'GET', 200],
    ['404', '/missing', 'GET', 404],
    ['413', '/upload', 'POST', 413],
    ['500', '/crash', 'GET', 500],
    ['503 returned as a plain Response', '/returned', 'GET', 503],
  ])(
    'when the answer is %s, it carries the secure headers and no X-Powered-By',
    async (_, path, method, status) => {
      const { app } = buildApp()

      const res = await app.request(path, {
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
    const { app } = buildApp()

    const kept = await app.request('/ok', { headers: { 'x-request-id': 'trace-123' } })
    const replaced = await app.request('/ok', { headers: { 'x-request-id': 'bad id\r\n' } })

    expect(kept.headers.get('x-request-id')).toBe('trace-123')
    expect(replaced.headers.get('x-request-id')).not.toContain('bad')
  })

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

  it('when accessLog is off, logs nothing even at debug level', async () => {
    const { app, lines } = buildApp({ level: 'debug', accessLog: false })

    await app.request('/ok')

    expect(lines).toEqual([])
  })
})
