/**
 * Recurring jobs through BullMQ Job Schedulers: `every` (ms) or a cron `pattern` in a `tz`.
 * GET /api/schedulers, GET|PUT|DELETE /api/schedulers/{id}; writes need the admin key.
 */
import { createRoute, z } from '@hono/zod-openapi'
import {
  createOpenApiApp,
  HttpError,
  jsonBody,
  jsonResponse,
  limitBody,
  problemResponses,
} from '@kit/http'
import type { JobSchedulerJson, Queue } from 'bullmq'
import type { MiddlewareHandler } from 'hono'
import { JobRequest, toJobOptions, type Retention } from '../jobs/job-requests.ts'

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

export const SchedulerRequest = z
  .strictObject({
    every: z
      .number()
      .int()
      .min(1000)
      .max(366 * 24 * 3_600_000)
      .optional()
      .openapi({ description: 'Interval in ms.' }),
    pattern: z.string().min(9).max(120).optional().openapi({
      description: 'Cron pattern (with optional seconds field).',
      example: '0 9 * * 1-5',
    }),
    tz: z
      .string()
      .refine(isTimeZone, 'not an IANA time zone')
      .optional()
      .openapi({ example: 'Europe/Paris' }),
    limit: z
      .number()
      .int()
      .min(1)
      .optional()
      .openapi({ description: 'Runs at most this many times.' }),
    startDate: z.iso.datetime({ offset: true }).optional(),
    endDate: z.iso.datetime({ offset: true }).optional(),
    job: JobRequest,
  })
  .superRefine((body, ctx) => {
    if ((body.every === undefined) === (body.pattern === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['every'],
        message: 'give exactly one of every and pattern',
      })
    }
    if (body.tz !== undefined && body.pattern === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['tz'],
        message: 'a time zone applies to a cron pattern only',
      })
    }
    if (body.job.options?.delayMs || body.job.options?.deduplication) {
      ctx.addIssue({
        code: 'custom',
        path: ['job', 'options'],
        message: 'a scheduled job takes no delayMs or deduplication',
      })
    }
  })
  .openapi('SchedulerRequest')

export const SchedulerView = z
  .object({
    id: z.string(),
    name: z.string(),
    every: z.number().optional(),
    pattern: z.string().optional(),
    tz: z.string().optional(),
    limit: z.number().optional(),
    iterationCount: z.number().optional(),
    next: z
      .number()
      .optional()
      .openapi({ description: 'When the next job is due (ms since the epoch).' }),
    data: z.unknown(),
  })
  .openapi('Scheduler')

const SchedulerId = z.object({
  id: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 _ . -')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'nightly-report' }),
})

function view(s: JobSchedulerJson): z.output<typeof SchedulerView> {
  return {
    id: s.id ?? s.key,
    name: s.name,
    ...(s.every !== undefined && s.every !== null && { every: Number(s.every) }),
    ...(s.pattern && { pattern: s.pattern }),
    ...(s.tz && { tz: s.tz }),
    ...(s.limit !== undefined && s.limit !== null && { limit: Number(s.limit) }),
    ...(s.iterationCount !== undefined && { iterationCount: Number(s.iterationCount) }),
    ...(s.next !== undefined && { next: Number(s.next) }),
    data: s.template?.data,
  }
}

export function createSchedulerRoutes({
  queue,
  retention,
  requireAdmin,
  maxBodyBytes,
}: {
  queue: Queue
  retention: Retention
  requireAdmin: MiddlewareHandler
  maxBodyBytes: number
}) {
  const app = createOpenApiApp()
  app.on(['PUT', 'DELETE'], '/api/schedulers/*', requireAdmin)
  app.use('/api/schedulers/*', limitBody(maxBodyBytes))

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/schedulers',
      summary: 'Every job scheduler',
      responses: {
        200: jsonResponse(z.object({ schedulers: z.array(SchedulerView) }), 'The schedulers'),
        ...problemResponses(503),
      },
    }),
    async (c) => c.json({ schedulers: (await queue.getJobSchedulers(0, -1, true)).map(view) }, 200)
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/schedulers/{id}',
      summary: 'One job scheduler and when it runs next',
      request: { params: SchedulerId },
      responses: {
        200: jsonResponse(SchedulerView, 'The scheduler'),
        ...problemResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const scheduler = await queue.getJobScheduler(id)
      if (!scheduler) throw new HttpError(404, 'scheduler_not_found', `No scheduler ${id}`)
      return c.json(view({ ...scheduler, id }), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/schedulers/{id}',
      summary: 'Create or replace a job scheduler (admin)',
      request: { params: SchedulerId, body: jsonBody(SchedulerRequest) },
      responses: {
        200: jsonResponse(SchedulerView, 'The scheduler, with its next run'),
        ...problemResponses(400, 401, 413, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const { job, every, pattern, tz, limit, startDate, endDate } = c.req.valid('json')
      const { jobId: _, ...opts } = toJobOptions(job, 'template', retention)
      try {
        await queue.upsertJobScheduler(
          id,
          {
            ...(every !== undefined && { every }),
            ...(pattern !== undefined && { pattern }),
            ...(tz !== undefined && { tz }),
            ...(limit !== undefined && { limit }),
            ...(startDate !== undefined && { startDate: new Date(startDate) }),
            ...(endDate !== undefined && { endDate: new Date(endDate) }),
          },
          { name: job.name, data: job.data, opts }
        )
      } catch (error) {
        // cron-parser rejects the pattern before BullMQ writes anything.
        if (
          pattern !== undefined &&
          error instanceof Error &&
          !/connection|stream|timed out/i.test(error.message)
        ) {
          throw new HttpError(400, 'validation_failed', 'Invalid request body', {
            errors: [{ path: 'pattern', message: `not a cron pattern: ${error.message}` }],
          })
        }
        throw error
      }
      const scheduler = await queue.getJobScheduler(id)
      if (!scheduler)
        throw new HttpError(
          400,
          'scheduler_ended',
          'The schedule has no run left (endDate passed or limit reached)'
        )
      return c.json(view({ ...scheduler, id }), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/schedulers/{id}',
      summary: 'Remove a job scheduler and its next job (admin)',
      request: { params: SchedulerId },
      responses: { 204: { description: 'Removed' }, ...problemResponses(400, 401, 404, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      if (!(await queue.removeJobScheduler(id)))
        throw new HttpError(404, 'scheduler_not_found', `No scheduler ${id}`)
      return c.body(null, 204)
    }
  )
  return app
}
