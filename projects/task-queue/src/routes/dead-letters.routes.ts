/**
 * The dead-letter queue: GET /api/dead-letters (newest first), GET /api/dead-letters/{id};
 * admin: POST /api/dead-letters/{id}/replay (idempotent), DELETE /api/dead-letters/{id},
 * DELETE /api/dead-letters (purge all). `id` is the job's id in its queue.
 */
import { createRoute, z } from '@hono/zod-openapi'
import { createOpenApiApp, HttpError, jsonResponse, problemResponses } from '@kit/http'
import type { MiddlewareHandler } from 'hono'
import type { QueueService } from '../queue-service.ts'
import { jobView } from './jobs.routes.ts'
import { IdParam, JobView } from './schemas.ts'

const Page = z.object({
  offset: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .openapi({ param: { name: 'offset', in: 'query' } }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .default(50)
    .openapi({ param: { name: 'limit', in: 'query' } }),
})

const DeadLetterPage = z
  .object({ total: z.number().int(), offset: z.number().int(), jobs: z.array(JobView) })
  .openapi('DeadLetterPage')

const ReplayResult = z
  .object({
    id: z.string(),
    status: z.enum(['replayed', 'already-replayed']),
    jobId: z.string().openapi({ description: 'The id the job runs under again.' }),
  })
  .openapi('ReplayResult')

export function createDeadLetterRoutes({
  service,
  requireAdmin,
}: {
  service: QueueService
  requireAdmin: MiddlewareHandler
}) {
  const { dlq } = service
  const app = createOpenApiApp()
  app.on(['POST', 'DELETE'], ['/api/dead-letters', '/api/dead-letters/*'], requireAdmin)

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/dead-letters',
      summary: 'Jobs that failed for good, newest first',
      request: { query: Page },
      responses: {
        200: jsonResponse(DeadLetterPage, 'A page of dead jobs'),
        ...problemResponses(400, 503),
      },
    }),
    async (c) => {
      const { offset, limit } = c.req.valid('query')
      const [total, jobs] = await Promise.all([dlq.count(), dlq.list(offset, offset + limit - 1)])
      return c.json(
        { total, offset, jobs: jobs.map((job) => jobView({ where: 'dead', job })) },
        200
      )
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/dead-letters/{id}',
      summary: 'One dead job: its data, reason and attempts',
      request: { params: IdParam },
      responses: { 200: jsonResponse(JobView, 'The dead job'), ...problemResponses(400, 404, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const job = await dlq.get(id)
      if (!job) throw new HttpError(404, 'dead_letter_not_found', `No dead job ${id}`)
      return c.json(jobView({ where: 'dead', job }), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/dead-letters/{id}/replay',
      summary: 'Run a dead job again under a new id (admin); a second replay adds nothing',
      request: { params: IdParam },
      responses: {
        200: jsonResponse(ReplayResult, 'Replayed, now or before'),
        ...problemResponses(400, 401, 404, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const result = await dlq.replay(id)
      if (result.status === 'not-found')
        throw new HttpError(404, 'dead_letter_not_found', `No dead job ${id}`)
      return c.json({ id, ...result }, 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/dead-letters/{id}',
      summary: 'Remove one dead job (admin)',
      request: { params: IdParam },
      responses: { 204: { description: 'Removed' }, ...problemResponses(400, 401, 404, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      if ((await dlq.purge(id)) === 0)
        throw new HttpError(404, 'dead_letter_not_found', `No dead job ${id}`)
      return c.body(null, 204)
    }
  )

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/dead-letters',
      summary: 'Remove every dead job (admin)',
      responses: {
        200: jsonResponse(z.object({ removed: z.number().int() }), 'How many were removed'),
        ...problemResponses(401, 503),
      },
    }),
    async (c) => c.json({ removed: await dlq.purge() }, 200)
  )
  return app
}
