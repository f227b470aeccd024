import { setTimeout as delay } from 'node:timers/promises'
import { ConfigError } from '@kit/config'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { errorHandler, notFoundHandler } from './errors.ts'
import { createHealth } from './health.ts'
import { kitMiddleware } from './kit-middleware.ts'
import { serveApp, type ServedApp } from './serve-app.ts'
import { captureLogger, deferred, getFresh } from './test-helpers.ts'

function buildApp() {
  const { logger, lines } = captureLogger()
  const health = createHealth([{ name: 'redis', critical: true, check: () => true }])
  const slowStarted = deferred()
  const hang = deferred()
  const events: string[] = []
  const app = new Hono()
  app.use(kitMiddleware({ logger }))
  app.route('/', health.routes)
  app.get('/slow', async (c) => {
    slowStarted.resolve()
    await delay(300) // the handler's own work, not a wait in the test
    events.push('slow finished')
    return c.text('done')
  })
  app.get('/hang', async (c) => {
    slowStarted.resolve()
    await hang.promise
    return c.text('never')
  })
  app.notFound(notFoundHandler)
  app.onError(errorHandler({ logger }))
  return { app, logger, lines, health, slowStarted, hang, events }
}

const served: ServedApp[] = []
afterEach(async () => {
  await Promise.all(served.splice(0).map((s) => s.shutdown()))
})

describe('serveApp()', () => {
  it('when started on port 0, serves the app at its url with the timeouts set explicitly', async () => {
    const { app, logger } = buildApp()

    const s = await serveApp(app, { port: 0, hostname: '127.0.0.1', logger, handleSignals: false })
    served.push(s)
    const res = await fetch(`${s.url}/healthz`)
    const missing = await fetch(`${s.url}/nope`)

    expect(s.url).toBe(`http://127.0.0.1:${s.port}`)
    expect(s.port).toBeGreaterThan(0)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-powered-by')).toBeNull()
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({
      status: 404,
      code: 'not_found',
      detail: 'No route for GET /nope',
    })
    expect(s.server.headersTimeout).toBe(10_000)
    expect(s.server.requestTimeout).toBe(30_000)
    expect(s.server.keepAliveTimeout).toBe(5_000)
  })

  it('when shutdown begins, /readyz answers 503 draining while an in-flight request completes 200', async () => {
    const { app, logger, health, slowStarted, events } = buildApp()
    const s = await serveApp(app, {
      port: 0,
      logger,
      health,
      drainDelayMs: 200,
      handleSignals: false,
      onShutdown: () => void events.push('onShutdown'),
    })
    const slow = fetch(`${s.url}/slow`)
    await slowStarted.promise

    const started = performance.now()
    const shutdown = s.shutdown('test')
    const ready = await getFresh(`${s.url}/readyz`)
    const slowRes = await slow

    expect(ready.status).toBe(503)
    expect(JSON.parse(ready.body)).toEqual({ status: 'draining', checks: { redis: 'up' } })
    expect(slowRes.status).toBe(200)
    expect(await slowRes.text()).toBe('done')
    await shutdown
    // The kept-alive socket of /slow was closed once idle, not at the client's keep-alive timeout.
    expect(performance.now() - started).toBeLessThan(2000)
    expect(events).toEqual(['slow finished', 'onShutdown'])
  })

  it('when shutdown has completed, the server refuses new connections', async () => {
    const { app, logger } = buildApp()
    const s = await serveApp(app, { port: 0, logger, handleSignals: false })
    expect((await getFresh(`${s.url}/healthz`)).status).toBe(200)

    await s.shutdown()

    const error = await getFresh(`${s.url}/healthz`).catch((e: NodeJS.ErrnoException) => e)
    expect(error).toMatchObject({ code: 'ECONNREFUSED' })
    expect(s.server.listening).toBe(false)
  })

  it('when a request outlives shutdownTimeoutMs, its connection is cut and shutdown completes', async () => {
    const { app, logger, lines, slowStarted, hang } = buildApp()
    const s = await serveApp(app, { port: 0, logger, shutdownTimeoutMs: 200, handleSignals: false })
    const hanging = fetch(`${s.url}/hang`).catch((e: unknown) => e)
    await slowStarted.promise

    const started = performance.now()
    await s.shutdown()
    const elapsed = performance.now() - started

    expect(elapsed).toBeGreaterThanOrEqual(190)
    expect(elapsed).toBeLessThan(2000)
    expect(await hanging).toBeInstanceOf(Error)
    expect(lines.some((line) => line.level === 40 && line.shutdownTimeoutMs === 200)).toBe(true)
    hang.resolve()
  })

  it('when shutdown is called twice, it drains once and both calls resolve together', async () => {
    let onShutdownCalls = 0
    const { app, logger } = buildApp()
    const s = await serveApp(app, {
      port: 0,
      logger,
      handleSignals: false,
      onShutdown: () => void onShutdownCalls++,
    })

    const first = s.shutdown('first')
    const second = s.shutdown('second')
    await Promise.all([first, second, s.closed])

    expect(second).toBe(first)
    expect(onShutdownCalls).toBe(1)
  })

  it('when SIGTERM arrives, shuts down and then removes its signal handlers', async () => {
    const { app, logger, health } = buildApp()
    const before = { SIGTERM: process.listeners('SIGTERM'), SIGINT: process.listeners('SIGINT') }
    const s = await serveApp(app, { port: 0, logger, health })
    const added = process.listeners('SIGTERM').filter((l) => !before.SIGTERM.includes(l))

    added[0]?.('SIGTERM') // what process.kill(process.pid, 'SIGTERM') would call
    await s.closed

    expect(added).toHaveLength(1)
    expect(health.draining).toBe(true)
    expect(s.server.listening).toBe(false)
    expect(process.listeners('SIGTERM')).toEqual(before.SIGTERM)
    expect(process.listeners('SIGINT')).toEqual(before.SIGINT)
  })

  it('when the port is already taken, rejects with a ConfigError naming the port and PORT', async () => {
    const { app, logger } = buildApp()
    const first = await serveApp(app, {
      port: 0,
      hostname: '127.0.0.1',
      logger,
      handleSignals: false,
    })
    served.push(first)

    const second = serveApp(app, {
      port: first.port,
      hostname: '127.0.0.1',
      logger,
      handleSignals: false,
    })

    const error = await second.then(
      () => undefined,
      (rejected: unknown) => rejected
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).keys).toEqual(['PORT'])
    expect((error as ConfigError).message).toContain(`${first.port} is already in use`)
  })
})
