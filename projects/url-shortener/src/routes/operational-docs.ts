import { z } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { jsonResponse, problemResponses } from '@kit/http'

const Readiness = z
  .object({
    status: z.enum(['ready', 'degraded', 'unavailable', 'draining']),
    checks: z.record(z.string(), z.enum(['up', 'down'])).openapi({ example: { sqlite: 'up' } }),
  })
  .openapi('Readiness')

/**
 * Describes in the app's OpenAPI document the routes `@kit/http` serves as plain Hono routes
 * (/healthz, /readyz from `createHealth`, /metrics from `createMetrics`), and the two ways the
 * API key is sent. Documentation only: the routes are mounted by app.ts.
 */
export function describeOperationalRoutes(
  app: OpenAPIHono,
  { metrics }: { metrics: boolean }
): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
  })
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
  })
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process answers',
    responses: { 200: jsonResponse(z.object({ status: z.literal('ok') }), 'Alive') },
  })
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: SQLite answers (Redis down is degraded, still ready); draining is 503',
    responses: {
      200: jsonResponse(Readiness, 'Ready or degraded'),
      503: jsonResponse(Readiness, 'Unavailable or draining'),
    },
  })
  if (metrics) {
    app.openAPIRegistry.registerPath({
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics',
      security: [{ apiKey: [] }, { bearer: [] }],
      responses: {
        200: {
          description: 'The text exposition format',
          content: { 'text/plain': { schema: z.string() } },
        },
        ...problemResponses(401),
      },
    })
  }
}
