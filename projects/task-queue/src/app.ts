/**
 * The task queue's HTTP API. Opens nothing and listens nowhere: main.ts (or a test) passes in
 * real dependencies and serves the result.
 *
 * Routes: /healthz, /readyz, /metrics, /openapi.json, /docs, /api/jobs…, /api/schedulers…,
 * /api/queue…, /api/dead-letters…, /dashboard (read-only), /admin/dashboard (admin key).
 */
import {
  createOpenApiApp,
  errorHandler,
  kitMiddleware,
  notFoundHandler,
  serveApiDocs,
  type createHealth,
  type createMetrics,
} from '@kit/http'
import type { Logger } from 'pino'
import type { Config } from './config.ts'
import { createQueueMetrics } from './metrics.ts'
import type { QueueService } from './queue-service.ts'
import { isReady, type RedisClient } from './redis-client.ts'
import { isRedisOutage, queueUnavailable } from './redis-outage.ts'
import { adminAuth } from './routes/admin-auth.ts'
import { mountDashboards } from './routes/dashboard.ts'
import { createDeadLetterRoutes } from './routes/dead-letters.routes.ts'
import { createJobsRoutes } from './routes/jobs.routes.ts'
import { createQueueRoutes } from './routes/queue.routes.ts'
import { createSchedulerRoutes } from './routes/schedulers.routes.ts'

export type AppDeps = {
  config: Pick<
    Config,
    | 'MAX_JOB_BYTES'
    | 'MAX_BULK_BYTES'
    | 'MAX_BULK_JOBS'
    | 'KEEP_COMPLETED'
    | 'KEEP_COMPLETED_SECONDS'
  >
  service: QueueService
  /** The request-path client the service uses: its state decides 503 without a round trip. */
  redis: RedisClient
  adminKey: string
  logger: Logger
  health: ReturnType<typeof createHealth>
  metrics?: ReturnType<typeof createMetrics>
}

/**
 * @example
 * ```ts
 * const app = createApp({ config, service, redis, adminKey, logger, health, metrics })
 * const res = await app.request('/api/jobs', { method: 'POST', body: JSON.stringify({ name: 'noop', data: {} }) })
 * ```
 */
export function createApp({ config, service, redis, adminKey, logger, health, metrics }: AppDeps) {
  const app = createOpenApiApp()
  app.use(kitMiddleware({ logger }))
  if (metrics) app.use(metrics.middleware)
  const kitErrors = errorHandler({ logger })
  app.onError((error, c) =>
    isRedisOutage(error, redis) ? kitErrors(queueUnavailable(error), c) : kitErrors(error, c)
  )
  app.notFound(notFoundHandler)

  // While Redis is away every queue route answers 503 at once: no command is even tried, so
  // nothing waits for a reconnect (the client's offline queue is off as well).
  app.use('/api/*', function failFast(_c, next) {
    if (isReady(redis)) return next()
    throw queueUnavailable()
  })

  const requireAdmin = adminAuth(adminKey)
  app.route('/', health.routes)
  if (metrics) app.get('/metrics', createQueueMetrics(metrics, service))

  app.route(
    '/',
    createJobsRoutes({
      service,
      maxJobBytes: config.MAX_JOB_BYTES,
      maxBulkBytes: config.MAX_BULK_BYTES,
      maxBulkJobs: config.MAX_BULK_JOBS,
    })
  )
  app.route(
    '/',
    createSchedulerRoutes({
      queue: service.queue,
      retention: {
        keepCompleted: config.KEEP_COMPLETED,
        keepCompletedSeconds: config.KEEP_COMPLETED_SECONDS,
      },
      requireAdmin,
      maxBodyBytes: config.MAX_JOB_BYTES,
    })
  )
  app.route('/', createQueueRoutes({ service, requireAdmin }))
  app.route('/', createDeadLetterRoutes({ service, requireAdmin }))
  mountDashboards(app, { queues: [service.queue, service.dlq.queue], requireAdmin })

  serveApiDocs(app, {
    title: 'Task queue',
    version: '1.0.0',
    description: 'BullMQ 6 behind an HTTP API: enqueue, inspect, cancel, schedule, dead letters.',
  })
  return app
}
