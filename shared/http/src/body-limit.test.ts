import { Hono } from 'hono'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { limitBody } from './body-limit.ts'
import { errorHandler, notFoundHandler, type Problem } from './errors.ts'
import { kitMiddleware } from './kit-middleware.ts'
import { serveApp, type ServedApp } from './serve-app.ts'
import { captureLogger, postChunked } from './test-helpers.ts'

const LIMIT = 1024
let handlerCalls = 0

function buildApp() {
  const { logger } = captureLogger()
  const app = new Hono()
  app.use(kitMiddleware({ logger }))
  app.post('/upload', limitBody(LIMIT), async (c) => {
    handlerCalls++
    return c.json({ received: (await c.req.text()).length })
  })
  app.notFound(notFoundHandler)
  app.onError(errorHandler({ logger }))
  return { app, logger }
}

const tooBig = 'x'.repeat(LIMIT + 1)
const expected413: Problem = {
  type: 'about:blank',
  title: 'Payload Too Large',
  status: 413,
  code: 'payload_too_large',
  detail: `Body exceeds ${LIMIT} bytes`,
}

beforeEach(() => {
  handlerCalls = 0
})

describe('limitBody() with app.request()', () => {
  it('when the body is one byte over the limit, answers 413 and never runs the handler', async () => {
    const { app } = buildApp()

    const res = await app.request('/upload', { method: 'POST', body: tooBig })

    expect(res.status).toBe(413)
    expect(await res.json()).toEqual(expected413)
    expect(handlerCalls).toBe(0)
  })

  it('when the body is exactly at the limit, the handler gets all of it', async () => {
    const { app } = buildApp()

    const res = await app.request('/upload', { method: 'POST', body: 'x'.repeat(LIMIT) })

    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ received: LIMIT })
    expect(handlerCalls).toBe(1)
  })
})

describe('limitBody() over a real socket', () => {
  let served: ServedApp

  beforeAll(async () => {
    const { app, logger } = buildApp()
    served = await serveApp(app, { port: 0, hostname: '127.0.0.1', logger, handleSignals: false })
  })
  afterAll(() => served.shutdown())

  it('when Content-Length says the body is too big, answers 413 with secure headers', async () => {
    const res = await fetch(`${served.url}/upload`, {
      method: 'POST',
      body: 'x'.repeat(10 * LIMIT),
    })

    expect(res.status).toBe(413)
    expect(await res.json()).toEqual(expected413)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(handlerCalls).toBe(0)
  })

  it('when Content-Length is within the limit, the handler reads all of the body', async () => {
    const res = await fetch(`${served.url}/upload`, { method: 'POST', body: 'x'.repeat(LIMIT) })

    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ received: LIMIT })
    expect(handlerCalls).toBe(1)
  })

  it('when a chunked body (no Content-Length) grows past the limit, answers 413', async () => {
    const res = await postChunked(`${served.url}/upload`, ['x'.repeat(600), 'x'.repeat(600)])

    expect(res.status).toBe(413)
    expect(JSON.parse(res.body)).toEqual(expected413)
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN')
    expect(handlerCalls).toBe(0)
  })

  it('when a chunked body stays under the limit, the handler reads all of it', async () => {
    const res = await postChunked(`${served.url}/upload`, ['x'.repeat(500), 'x'.repeat(500)])

    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toEqual({ received: 1000 })
    expect(handlerCalls).toBe(1)
  })
})
