/**
 * A worker process: takes jobs from the queue and runs them. Reads the same environment as the
 * API (REDIS_URL is required here), listens for SIGTERM/SIGINT and shuts down gracefully: it
 * takes no new job, lets the active ones finish (each is bounded by its deadline), then exits 0.
 *
 *   REDIS_URL=redis://127.0.0.1:6380 node dist/worker-main.js
 */
import { ConfigError, exitOnConfigError } from '@kit/config'
import { createHealth, createLogger, createMetrics, serveApp, type ServedApp } from '@kit/http'
import { Hono } from 'hono'
import { loadConfig, type Config } from './config.ts'
import { evictionPolicy } from './readiness.ts'
import { createRedisClient, ping } from './redis-client.ts'
import { createJobWorker } from './worker/job-worker.ts'

let config: Config
let redisUrl: string
try {
  config = loadConfig(process.env)
  if (config.REDIS_URL === undefined) {
    throw new ConfigError([
      { key: 'REDIS_URL', message: 'required by a worker: the Redis its API uses' },
    ])
  }
  redisUrl = config.REDIS_URL
} catch (error) {
  exitOnConfigError(error)
}

const logger = createLogger({ name: 'task-queue-worker', level: config.LOG_LEVEL })
const connection = createRedisClient(redisUrl, {
  role: 'worker',
  name: 'task-queue-worker',
  logger,
})
const subscriber = createRedisClient(redisUrl, {
  role: 'subscriber',
  name: 'task-queue-cancel',
  logger,
})
const metrics = createMetrics({ collectDefaultMetrics: true })
// dist/worker-main.js sits beside dist/sandboxed-processor.js; src/ holds the .ts twin.
const sandboxedProcessor = new URL(
  import.meta.url.endsWith('.ts') ? './sandboxed-processor.ts' : './sandboxed-processor.js',
  import.meta.url
)
const jobWorker = await createJobWorker({
  config,
  connection,
  subscriber,
  logger,
  registry: metrics.registry,
  sandboxedProcessor,
})

let served: ServedApp | undefined
if (config.WORKER_PORT !== undefined) {
  const health = createHealth([
    { name: 'redis', critical: true, check: () => ping(connection) },
    {
      name: 'eviction-policy',
      critical: true,
      check: async () => (await evictionPolicy(connection)).ok,
    },
  ])
  const app = new Hono()
  app.route('/', health.routes)
  app.get('/metrics', metrics.handler)
  served = await serveApp(app, {
    port: config.WORKER_PORT,
    hostname: config.HOST,
    logger,
    health,
    handleSignals: false,
  }).catch(exitOnConfigError)
}

logger.info(
  {
    queue: config.QUEUE_NAME,
    concurrency: config.WORKER_CONCURRENCY,
    mode: config.PROCESSOR_MODE,
    pid: process.pid,
  },
  'worker started'
)

let closing: Promise<void> | undefined
function shutdown(reason: string): Promise<void> {
  closing ??= (async () => {
    logger.info({ reason }, 'worker closing: no new jobs, finishing the active ones')
    await jobWorker.close()
    await served?.shutdown(reason)
    await Promise.all([connection.quit(), subscriber.quit()]).catch(() => {})
    logger.info({ reason }, 'worker closed')
    process.exit(0)
  })()
  return closing
}
process.once('SIGTERM', () => void shutdown('SIGTERM'))
process.once('SIGINT', () => void shutdown('SIGINT'))
// Started by the API (embedded mode): leave with it.
if (process.send) process.once('disconnect', () => void shutdown('parent exited'))
