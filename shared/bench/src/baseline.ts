/**
 * The bare stack: a Hono app with NO middleware, answering the same SHAPE of response as the
 * project's route, so a benchmark can say what the project's own work costs.
 *
 * Run as a program it serves on PORT the shape named by BASELINE:
 *   BASELINE=redirect  GET /:code → 302, Location: https://example.com/<code>
 *   BASELINE=json      POST /*    → 201, a small JSON body { id, code } (the request body is
 *                      read and parsed, as any JSON API must)
 *   BASELINE=text      GET /*     → 200 'ok'
 * and GET /healthz → 200 in every shape. Shapes combine, routes in the order given
 * (BASELINE=json,redirect mirrors a shortener for k6, whose setup creates links first).
 * With BASELINE_MIDDLEWARE=hono, the same app runs behind the stack every kit project puts in
 * front of its routes, as the libraries ship it: hono/request-id, hono/secure-headers and
 * @hono/prometheus. Measured beside the bare app, it says what the idiomatic middlewares cost
 * before any code of the project runs.
 * Importing this module starts nothing.
 */
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { prometheus } from '@hono/prometheus'
import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import { Registry } from 'prom-client'
import { isMainModule } from './is-main.ts'
import { spawnTarget } from './spawn-target.ts'
import type { BenchTarget } from './types.ts'

export const BASELINE_SHAPES = ['redirect', 'json', 'text'] as const
export type BaselineShape = (typeof BASELINE_SHAPES)[number]

/** 'none': the bare app; 'hono': behind hono/request-id, hono/secure-headers, @hono/prometheus. */
export type BaselineMiddleware = 'none' | 'hono'

/** Absolute path of this file, to spawn it: `spawnTarget({ entry: baselineEntry, env: { BASELINE: 'redirect' } })`. */
export const baselineEntry = fileURLToPath(new URL('./baseline.ts', import.meta.url))

/** The bare app for `shapes` (one, or several registered in order). */
export function createBaselineApp(
  shapes: BaselineShape | readonly BaselineShape[],
  middleware: BaselineMiddleware = 'none'
): Hono {
  const app = new Hono()
  if (middleware === 'hono') {
    app.use(requestId())
    app.use(secureHeaders())
    app.use(prometheus({ registry: new Registry() }).registerMetrics)
  }
  // Registered first: in the redirect shape, /:code would match it too.
  app.get('/healthz', (c) => c.text('ok'))
  for (const shape of [shapes].flat()) {
    switch (shape) {
      case 'redirect':
        app.get('/:code', (c) => c.redirect(`https://example.com/${c.req.param('code')}`, 302))
        break
      case 'json': {
        let created = 0
        app.post('/*', async (c) => {
          const body: unknown = await c.req.json().catch(() => undefined)
          if (typeof body !== 'object' || body === null) return c.text('invalid JSON', 400)
          created += 1
          return c.json({ id: created, code: created.toString(36) }, 201)
        })
        break
      }
      case 'text':
        app.get('/*', (c) => c.text('ok'))
        break
    }
  }
  return app
}

/** Parses BASELINE ('redirect', 'json,redirect'…); null when any part is not a shape. */
export function parseShapes(value: string | undefined): BaselineShape[] | null {
  const parts = (value ?? '').split(',').map((part) => part.trim())
  const known: readonly string[] = BASELINE_SHAPES
  return parts.every((part) => known.includes(part)) ? (parts as BaselineShape[]) : null
}

/**
 * The bare stack as a benchmark target, in its own process.
 * @example
 * ```ts
 * runBenchmark({ targets: [subject, baselineTarget({ shape: 'redirect' })], … })
 * ```
 */
export function baselineTarget({
  shape,
  middleware = 'none',
  name = `${middleware === 'hono' ? 'hono-middleware' : 'bare-hono'}-${[shape].flat().join('+')}`,
  kind = middleware === 'hono' ? 'reference' : 'baseline',
}: {
  shape: BaselineShape | BaselineShape[]
  /** 'hono': behind the libraries' request id, secure headers and metrics (a 'reference'). */
  middleware?: BaselineMiddleware
  name?: string
  /** 'baseline' unless the bare app plays another part (e.g. measured against itself). */
  kind?: BenchTarget['kind']
}): BenchTarget {
  const env = { BASELINE: [shape].flat().join(','), BASELINE_MIDDLEWARE: middleware }
  return spawnTarget({ name, kind, entry: baselineEntry, env })
}

if (isMainModule(import.meta.url)) {
  const shapes = parseShapes(process.env.BASELINE)
  const port = Number(process.env.PORT)
  const middleware = process.env.BASELINE_MIDDLEWARE ?? 'none'
  if (
    shapes === null ||
    !Number.isInteger(port) ||
    port < 0 ||
    port > 65_535 ||
    (middleware !== 'none' && middleware !== 'hono')
  ) {
    console.error(
      `baseline: BASELINE must be one or more of ${BASELINE_SHAPES.join(', ')}, comma-separated ` +
        `(got ${JSON.stringify(process.env.BASELINE)}), BASELINE_MIDDLEWARE none or hono (got ${JSON.stringify(middleware)}), ` +
        `and PORT an integer port (got ${JSON.stringify(process.env.PORT)})`
    )
    process.exit(1)
  }
  const server = serve({ fetch: createBaselineApp(shapes, middleware).fetch, port })
  const shutdown = () => server.close(() => process.exit(0))
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}
