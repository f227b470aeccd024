/**
 * The task queue's API process: reads the environment, connects to Redis (or starts the
 * embedded one), serves the API, and in the embedded mode supervises its worker processes.
 * SIGTERM/SIGINT drain the API (serveApp), stop the workers gracefully, then close everything
 * in reverse order of start.
 */
import { randomBytes } from 'node:crypto'
import { exitOnConfigError } from '@kit/config'
import { createHealth, createLogger, createMetrics, serveApp } from '@kit/http'
import { createApp } from './app.ts'
import { loadConfig, type Config } from './config.ts'
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.ts'
import { createQueueService } from './queue-service.ts'
import { evictionPolicy } from './readiness.ts'
import { createRedisClient, ping, type RedisClient } from './redis-client.ts'
import { superviseWorkers, type WorkerSupervisor } from './worker/worker-supervisor.ts'

let config: Config
try {
  config = loadConfig(process.env)
} catch (error) {
  exitOnConfigError(error)
}
const logger = createLogger({ name: 'task-queue', level: config.LOG_LEVEL })

let embedded: EmbeddedRedis | undefined
try {
  embedded =
    config.REDIS_URL === undefined
      ? await startEmbeddedRedis({ dataDir: config.DATA_DIR, logger })
      : undefined
} catch (error) {
  exitOnConfigError(error)
}
const redisUrl = config.REDIS_URL ?? embedded!.url
// The request path fails fast: while Redis is away, the API answers 503 at once.
const redis = createRedisClient(redisUrl, { role: 'request', name: 'task-queue-api', logger })
const service = createQueueService({ redis, config })

/** Runs `apply` now if Redis is ready, else the next time it is. */
function whenReady(client: RedisClient, apply: () => Promise<unknown>): void {
  const run = () =>
    apply().catch((err: unknown) => logger.warn({ err }, 'could not apply the global limits'))
  if (client.status === 'ready') void run()
  else client.once('ready', () => void run())
}
if (config.GLOBAL_CONCURRENCY !== undefined || config.GLOBAL_RATE_LIMIT !== undefined) {
  whenReady(redis, async () => {
    if (config.GLOBAL_CONCURRENCY !== undefined)
      await service.queue.setGlobalConcurrency(config.GLOBAL_CONCURRENCY)
    if (config.GLOBAL_RATE_LIMIT !== undefined) {
      await service.queue.setGlobalRateLimit(
        config.GLOBAL_RATE_LIMIT,
        config.GLOBAL_RATE_LIMIT_DURATION_MS
      )
    }
  })
}

let lastPolicy: string | undefined
const health = createHealth([
  { name: 'redis', critical: true, check: () => ping(redis) },
  {
    name: 'eviction-policy',
    critical: true,
    async check() {
      const { policy, ok } = await evictionPolicy(redis)
      if (!ok && policy !== lastPolicy) {
        logger.error(
          { policy },
          'Redis maxmemory-policy is not noeviction: Redis may delete queued jobs; not ready'
        )
      }
      lastPolicy = policy
      return ok
    },
  },
])
const metrics = createMetrics({ collectDefaultMetrics: true })

const adminKey = config.ADMIN_KEY ?? randomBytes(24).toString('base64url')
if (config.ADMIN_KEY === undefined) {
  // Printed once, to the terminal only: it is not logged, and a restart makes a new one.
  process.stdout.write(`ADMIN_KEY was not set; this run's admin key is:\n  ${adminKey}\n`)
}

const app = createApp({ config, service, redis, adminKey, logger, health, metrics })

let workers: WorkerSupervisor | undefined

await serveApp(app, {
  port: config.PORT,
  hostname: config.HOST,
  logger,
  health,
  listeningFields: {
    redis: embedded ? `embedded (${redisUrl})` : 'REDIS_URL',
    queue: config.QUEUE_NAME,
    workers: config.WORKERS,
    dashboard: '/dashboard',
    docs: '/docs',
  },
  async onShutdown() {
    // Reverse order of start: no request runs any more; workers finish their jobs first.
    await workers?.close()
    await service.close()
    await redis.quit().catch(() => redis.disconnect())
    await embedded?.close()
  },
}).catch(async (error: unknown) => {
  // A taken port: nothing started here may outlive this process.
  await embedded?.close()
  exitOnConfigError(error)
})

if (config.WORKERS > 0) {
  workers = superviseWorkers({
    count: config.WORKERS,
    entry: new URL(
      import.meta.url.endsWith('.ts') ? './worker-main.ts' : './worker-main.js',
      import.meta.url
    ),
    env: { REDIS_URL: redisUrl, LOG_LEVEL: config.LOG_LEVEL },
    logger,
  })
}
