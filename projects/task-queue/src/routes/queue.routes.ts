/**
 * GET /api/queue (counts, paused, limits); POST /api/queue/pause|resume and PUT
 * /api/queue/limits (admin): pause stops every worker taking jobs (enqueue still works);
 * limits are BullMQ's global concurrency and global rate limit, shared by every worker.
 */
import { createRoute, z } from '@hono/zod-openapi'
import { createOpenApiApp, jsonBody, jsonResponse, limitBody, problemResponses } from '@kit/http'
import type { MiddlewareHandler } from 'hono'
import type { QueueService } from '../queue-service.ts'

export const QueueView = z
  .object({
    name: z.string(),
    paused: z.boolean(),
    counts: z.record(z.string(), z.number()).openapi({ description: 'Jobs per BullMQ state.' }),
    backlog: z.number().openapi({
      description: 'Jobs in the tenants’ backlogs (fair scheduling), not yet in the queue.',
    }),
    dead: z.number().openapi({ description: 'Jobs in the dead-letter queue.' }),
    globalConcurrency: z.number().nullable(),
    globalRateLimit: z.object({ max: z.number(), durationMs: z.number() }).nullable(),
  })
  .openapi('Queue')

export const LimitsRequest = z
  .strictObject({
    globalConcurrency: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .nullable()
      .optional()
      .openapi({ description: 'null removes the limit.' }),
    globalRateLimit: z
      .strictObject({
        max: z.number().int().min(1),
        durationMs: z.number().int().min(1).max(86_400_000),
      })
      .nullable()
      .optional()
      .openapi({
        description:
          'At most `max` jobs start per `durationMs` across every worker; null removes it.',
      }),
  })
  .openapi('LimitsRequest')

export function createQueueRoutes({
  service,
  requireAdmin,
}: {
  service: QueueService
  requireAdmin: MiddlewareHandler
}) {
  const { queue } = service
  const app = createOpenApiApp()
  app.on(['POST', 'PUT'], '/api/queue/*', requireAdmin, limitBody(4096))

  async function describe(): Promise<z.output<typeof QueueView>> {
    const [counts, paused, backlog, dead, globalConcurrency, rateLimit] = await Promise.all([
      queue.getJobCounts(),
      queue.isPaused(),
      service.fair.backlog(),
      service.dlq.count(),
      queue.getGlobalConcurrency(),
      queue.getGlobalRateLimit(),
    ])
    return {
      name: queue.name,
      paused,
      counts,
      backlog,
      dead,
      globalConcurrency,
      globalRateLimit: rateLimit ? { max: rateLimit.max, durationMs: rateLimit.duration } : null,
    }
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/queue',
      summary: 'The queue: jobs per state, paused, backlog, dead letters, global limits',
      responses: { 200: jsonResponse(QueueView, 'The queue'), ...problemResponses(503) },
    }),
    async (c) => c.json(await describe(), 200)
  )

  for (const action of ['pause', 'resume'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/api/queue/${action}`,
        summary:
          action === 'pause'
            ? 'Stop every worker taking jobs (admin); enqueue still works'
            : 'Let workers take jobs again (admin)',
        responses: { 200: jsonResponse(QueueView, 'The queue'), ...problemResponses(401, 503) },
      }),
      async (c) => {
        await (action === 'pause' ? queue.pause() : queue.resume())
        return c.json(await describe(), 200)
      }
    )
  }

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/queue/limits',
      summary: 'Set or remove the global concurrency and rate limit (admin)',
      request: { body: jsonBody(LimitsRequest) },
      responses: { 200: jsonResponse(QueueView, 'The queue'), ...problemResponses(400, 401, 503) },
    }),
    async (c) => {
      const { globalConcurrency, globalRateLimit } = c.req.valid('json')
      if (globalConcurrency === null) await queue.removeGlobalConcurrency()
      else if (globalConcurrency !== undefined) await queue.setGlobalConcurrency(globalConcurrency)
      if (globalRateLimit === null) await queue.removeGlobalRateLimit()
      else if (globalRateLimit !== undefined) {
        await queue.setGlobalRateLimit(globalRateLimit.max, globalRateLimit.durationMs)
      }
      return c.json(await describe(), 200)
    }
  )
  return app
}
