import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { describe, expect, it } from 'vitest'
import { errorHandler, HttpError, notFoundHandler, problem, problemResponse } from './errors.ts'
import { kitMiddleware } from './kit-middleware.ts'
import { captureLogger } from './test-helpers.ts'

function buildApp() {
  const { logger, lines } = captureLogger()
  const app = new Hono()
  app.use(kitMiddleware({ logger }))
  app.get('/conflict', () => {
    throw new HttpError(409, 'alias_taken', 'Alias abc is already in use', {
      headers: { 'retry-after': '3' },
    })
  })
  app.get('/invalid', () => {
    throw new HttpError(400, 'validation_failed', 'Invalid request body', {
      errors: [{ path: 'url', message: 'Invalid URL' }],
    })
  })
  app.get('/hono-401', () => {
    throw new HTTPException(401, {
      res: new Response('no', { headers: { 'www-authenticate': 'Bearer' } }),
      message: 'Token expired',
    })
  })
  app.get('/hono-504', () => {
    throw new HTTPException(504, { message: 'upstream at 10.0.0.7 timed out' })
  })
  app.get('/crash', () => {
    throw new Error('SQLITE_CORRUPT at /var/lib/app/links.db')
  })
  app.get('/returned', () => problemResponse(503, 'redis_unavailable', 'Try again shortly'))
  app.get('/limited', (c) => {
    c.header('ratelimit-remaining', '0')
    return problem(c, 429, 'rate_limited', 'Too many requests', {
      headers: { 'retry-after': '5' },
    })
  })
  app.notFound(notFoundHandler)
  app.onError(errorHandler({ logger }))
  return { app, lines }
}

describe('errorHandler()', () => {
  it('when a handler throws HttpError, answers its status, code, message and headers', async () => {
    const { app } = buildApp()

    const res = await app.request('/conflict')

    expect(res.status).toBe(409)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(res.headers.get('retry-after')).toBe('3')
    expect(await res.json()).toEqual({
      type: 'about:blank',
      title: 'Conflict',
      status: 409,
      code: 'alias_taken',
      detail: 'Alias abc is already in use',
    })
  })

  it('when HttpError carries field errors, the body lists them as `errors`', async () => {
    const { app } = buildApp()

    const res = await app.request('/invalid')

    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      code: 'validation_failed',
      detail: 'Invalid request body',
      errors: [{ path: 'url', message: 'Invalid URL' }],
    })
  })

  it("when Hono's HTTPException is thrown, answers its status with a derived code and its headers", async () => {
    const { app } = buildApp()

    const res = await app.request('/hono-401')

    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
    expect(await res.json()).toMatchObject({ code: 'unauthorized', detail: 'Token expired' })
  })

  it('when an HTTPException is a 5xx, its message is replaced by the standard phrase', async () => {
    const { app } = buildApp()

    const res = await app.request('/hono-504')

    expect(res.status).toBe(504)
    expect(await res.json()).toMatchObject({ code: 'gateway_timeout', detail: 'Gateway Timeout' })
  })

  it('when a handler throws anything else, answers a generic 500 and logs it with the request id', async () => {
    const { app, lines } = buildApp()

    const res = await app.request('/crash', { headers: { 'x-request-id': 'req-42' } })

    const text = await res.text()
    expect(res.status).toBe(500)
    expect(JSON.parse(text)).toMatchObject({
      code: 'internal_error',
      detail: 'Internal server error',
    })
    expect(text).not.toContain('SQLITE')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      level: 50,
      reqId: 'req-42',
      path: '/crash',
      err: { message: 'SQLITE_CORRUPT at /var/lib/app/links.db' },
    })
  })
})

describe('problemResponse()', () => {
  it('when returned by a handler, gives the same body shape', async () => {
    const { app } = buildApp()

    const res = await app.request('/returned')

    expect(res.status).toBe(503)
    expect(await res.json()).toMatchObject({
      code: 'redis_unavailable',
      detail: 'Try again shortly',
    })
  })
})

describe('problem()', () => {
  it('when headers were set earlier with c.header(), keeps them next to its own', async () => {
    const { app } = buildApp()

    const res = await app.request('/limited')

    expect(res.status).toBe(429)
    expect(res.headers.get('ratelimit-remaining')).toBe('0')
    expect(res.headers.get('retry-after')).toBe('5')
    expect(res.headers.get('x-request-id')).toBeTruthy()
    expect(await res.json()).toMatchObject({ code: 'rate_limited', detail: 'Too many requests' })
  })
})

describe('notFoundHandler', () => {
  it('when no route matches, answers a problem-details 404 naming the method and path', async () => {
    const { app } = buildApp()

    const res = await app.request('/nope', { method: 'DELETE' })

    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({
      code: 'not_found',
      detail: 'No route for DELETE /nope',
    })
  })
})
