import { prometheus } from '@hono/prometheus'
import type { Context, MiddlewareHandler } from 'hono'
import { Registry } from 'prom-client'

/**
 * Prometheus metrics through @hono/prometheus: `middleware` records
 * `http_request_duration_seconds` and `http_requests_total` by method, status and route
 * pattern (`/links/:code`, never the raw URL, to keep label cardinality low); `handler` serves
 * the registry in the text exposition format. Register your own metrics on `registry`.
 *
 * @example
 * ```ts
 * const metrics = createMetrics({ prefix: 'shortener_' })
 * app.use(metrics.middleware)
 * app.get('/metrics', metrics.handler)
 * ```
 */
export function createMetrics({
  registry = new Registry(),
  prefix = '',
  collectDefaultMetrics = false,
}: { registry?: Registry; prefix?: string; collectDefaultMetrics?: boolean } = {}): {
  registry: Registry
  middleware: MiddlewareHandler
  handler: (c: Context) => Promise<Response>
} {
  const { registerMetrics } = prometheus({ registry, prefix, collectDefaultMetrics })
  return {
    registry,
    middleware: registerMetrics,
    // printMetrics answers text/plain; Prometheus negotiates on the exposition format version.
    async handler(c) {
      return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType })
    },
  }
}
