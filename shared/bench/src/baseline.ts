/**
 * The bare stack: a Hono app with NO middleware, answering the same SHAPE of response as the
 * project's route, so a benchmark can say what the project's own work costs.
 *
 * Run as a program it serves on PORT the shape named by BASELINE:
 *   BASELINE=redirect  GET /:code → 302, Location: https://example.com/<code>
 *   BASELINE=json      POST /*    → 201, a small JSON body (the request body is read and parsed)
 *   BASELINE=text      GET /*     → 200 'ok'
 * and GET /healthz → 200 in every shape. Importing this module starts nothing.
 */
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { isMainModule } from './is-main.ts'
import { spawnTarget } from './spawn-target.ts'
import type { BenchTarget } from './types.ts'

export const BASELINE_SHAPES = ['redirect', 'json', 'text'] as const
export type BaselineShape = (typeof BASELINE_SHAPES)[number]

/** Absolute path of this file, to spawn it: `spawnTarget({ entry: baselineEntry, env: { BASELINE: 'redirect' } })`. */
export const baselineEntry = fileURLToPath(new URL('./baseline.ts', import.meta.url))

/** The bare app for `shape`. */
export function createBaselineApp(shape: BaselineShape): Hono {
  const app = new Hono()
  // Registered first: in the redirect shape, /:code would match it too.
  app.get('/healthz', (c) => c.text('ok'))
  switch (shape) {
    case 'redirect':
      app.get('/:code', (c) => c.redirect(`https://example.com/${c.req.param('code')}`, 302))
      break
    case 'json': {
      let created = 0
      app.post('/*', async (c) => {
        // Parse like a real JSON API would, so the comparison includes reading the body.
        const body = await c.req.json().catch(() => undefined)
        if (typeof body !== 'object' || body === null) return c.text('invalid JSON', 400)
        created += 1
        return c.json({ id: created, ok: true }, 201)
      })
      break
    }
    case 'text':
      app.get('/*', (c) => c.text('ok'))
      break
  }
  return app
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
  name = `bare-hono-${shape}`,
  kind = 'baseline',
}: {
  shape: BaselineShape
  name?: string
  /** 'baseline' unless the bare app plays another part (e.g. measured against itself). */
  kind?: BenchTarget['kind']
}): BenchTarget {
  return spawnTarget({ name, kind, entry: baselineEntry, env: { BASELINE: shape } })
}

function isShape(value: string | undefined): value is BaselineShape {
  return (BASELINE_SHAPES as readonly string[]).includes(value ?? '')
}

if (isMainModule(import.meta.url)) {
  const shape = process.env.BASELINE
  const port = Number(process.env.PORT)
  if (!isShape(shape) || !Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(
      `baseline: BASELINE must be one of ${BASELINE_SHAPES.join(', ')} (got ${JSON.stringify(shape)}) ` +
        `and PORT an integer port (got ${JSON.stringify(process.env.PORT)})`
    )
    process.exit(1)
  }
  const server = serve({ fetch: createBaselineApp(shape).fetch, port })
  const shutdown = () => server.close(() => process.exit(0))
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}
