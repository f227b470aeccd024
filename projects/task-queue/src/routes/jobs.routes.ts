/**
 * POST /api/jobs, POST /api/jobs/bulk, GET /api/jobs/{id}, DELETE /api/jobs/{id}.
 * Payloads are checked against their job type's schema before anything is enqueued.
 */
import { createRoute } from '@hono/zod-openapi'
import type { DeadLetter } from '@kit/dead-letter'
import {
  createOpenApiApp,
  HttpError,
  jsonBody,
  jsonResponse,
  limitBody,
  problemResponses,
} from '@kit/http'
import { IdempotencyKeyReusedError } from '../idempotent-enqueue/index.ts'
import {
  bulkRequestSchema,
  IDEMPOTENCY_HEADER,
  IdempotencyHeaders,
  JobRequest,
  type TaskJobOptions,
} from '../jobs/job-requests.ts'
import type { FoundJob, QueueService } from '../queue-service.ts'
import { BulkResult, CancelResult, EnqueueResult, IdParam, JobView } from './schemas.ts'

export type JobsRoutesOptions = {
  service: QueueService
  maxJobBytes: number
  maxBulkBytes: number
  maxBulkJobs: number
}

type JobViewBody = ReturnType<typeof JobView.parse>

/** The public view of a job wherever it is. */
export function jobView(found: FoundJob): JobViewBody {
  if (found.where === 'backlog') {
    const { job } = found
    return {
      id: job.id,
      name: job.name,
      state: 'queued',
      tenant: job.tenant,
      data: job.data,
      progress: 0,
      attemptsMade: 0,
      attempts: job.opts?.attempts ?? 1,
      createdAt: job.enqueuedAt,
    }
  }
  if (found.where === 'dead') {
    // A dead entry keeps the job's own id, data, options, attempts and reason in its envelope.
    const letter = found.job.data as DeadLetter
    const opts = letter.opts as TaskJobOptions
    return {
      id: letter.jobId,
      name: found.job.name,
      state: 'dead',
      ...(opts.tenant !== undefined && { tenant: opts.tenant }),
      data: letter.data,
      progress: found.job.progress,
      attemptsMade: letter.attemptsMade,
      attempts: opts.attempts ?? 1,
      failedReason: letter.failedReason,
      createdAt: letter.createdAt,
      finishedAt: letter.diedAt,
    }
  }
  const { job, state } = found
  const opts = job.opts as TaskJobOptions
  return {
    id: job.id!,
    name: job.name,
    state,
    ...(opts.tenant !== undefined && { tenant: opts.tenant }),
    data: job.data,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    attempts: opts.attempts ?? 1,
    ...(job.returnvalue !== null && job.returnvalue !== undefined && { result: job.returnvalue }),
    ...(job.failedReason && { failedReason: job.failedReason }),
    createdAt: job.timestamp,
    ...(job.processedOn !== undefined && { processedAt: job.processedOn }),
    ...(job.finishedOn !== undefined && { finishedAt: job.finishedOn }),
    ...(opts.delay ? { delayMs: opts.delay } : {}),
    ...(opts.priority ? { priority: opts.priority } : {}),
  }
}

function reusedKey(error: IdempotencyKeyReusedError): HttpError {
  return new HttpError(422, 'idempotency_key_reused', error.message, {
    errors: [{ path: IDEMPOTENCY_HEADER, message: `already used for job ${error.jobId}` }],
  })
}

const enqueueRoute = createRoute({
  method: 'post',
  path: '/api/jobs',
  summary: 'Enqueue one job',
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(JobRequest),
  },
  responses: {
    201: jsonResponse(EnqueueResult, 'Enqueued'),
    200: jsonResponse(EnqueueResult, 'Already enqueued: same Idempotency-Key, or deduplicated'),
    ...problemResponses(400, 413, 422, 503),
  },
})

const bulkRoute = (maxJobs: number) =>
  createRoute({
    method: 'post',
    path: '/api/jobs/bulk',
    summary: `Enqueue up to ${maxJobs} jobs; all are validated before any is enqueued`,
    request: { body: jsonBody(bulkRequestSchema(maxJobs)) },
    responses: {
      201: jsonResponse(BulkResult, 'Each job’s outcome, in request order'),
      ...problemResponses(400, 413, 422, 503),
    },
  })

const getRoute = createRoute({
  method: 'get',
  path: '/api/jobs/{id}',
  summary: 'A job’s state, progress, attempts and result',
  request: { params: IdParam },
  responses: { 200: jsonResponse(JobView, 'The job'), ...problemResponses(400, 404, 503) },
})

const cancelRoute = createRoute({
  method: 'delete',
  path: '/api/jobs/{id}',
  summary: 'Cancel a job: removed if it has not started, aborted through its signal if running',
  request: { params: IdParam },
  responses: {
    200: jsonResponse(CancelResult, 'Removed before it ran'),
    202: jsonResponse(CancelResult, 'Running: its worker is told to abort it'),
    ...problemResponses(400, 404, 409, 503),
  },
})

export function createJobsRoutes({
  service,
  maxJobBytes,
  maxBulkBytes,
  maxBulkJobs,
}: JobsRoutesOptions) {
  const app = createOpenApiApp()
  app.use('/api/jobs', limitBody(maxJobBytes))
  app.use('/api/jobs/bulk', limitBody(maxBulkBytes))

  app.openapi(enqueueRoute, async (c) => {
    const request = c.req.valid('json')
    const key = c.req.valid('header')[IDEMPOTENCY_HEADER]
    try {
      const result = await service.enqueue(request, key)
      return c.json(result, result.duplicate || result.deduplicated ? 200 : 201)
    } catch (error) {
      if (error instanceof IdempotencyKeyReusedError) throw reusedKey(error)
      throw error
    }
  })

  app.openapi(bulkRoute(maxBulkJobs), async (c) => {
    const { jobs } = c.req.valid('json')
    try {
      return c.json({ jobs: await service.enqueueBulk(jobs) }, 201)
    } catch (error) {
      if (error instanceof IdempotencyKeyReusedError) throw reusedKey(error)
      throw error
    }
  })

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param')
    const found = await service.find(id)
    if (!found) throw new HttpError(404, 'job_not_found', `No job ${id}`)
    return c.json(jobView(found), 200)
  })

  app.openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid('param')
    const outcome = await service.cancel(id)
    if (outcome === 'not-found') throw new HttpError(404, 'job_not_found', `No job ${id}`)
    if (outcome === 'finished') {
      throw new HttpError(409, 'job_finished', `Job ${id} has already finished`)
    }
    return outcome === 'cancelled'
      ? c.json({ id, status: outcome }, 200)
      : c.json({ id, status: outcome }, 202)
  })

  return app
}
