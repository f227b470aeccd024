/**
 * A delivery worker process: one BullMQ worker per channel queue. Run several (on one machine or
 * many, sharing Redis and the SQLite file's volume); `main.ts` starts WORKERS of them in the
 * embedded mode. On SIGTERM/SIGINT it stops taking jobs, lets the running ones finish, and exits.
 */
import { fileURLToPath } from 'node:url'
import { ConfigError, exitOnConfigError } from '@kit/config'
import { createLogger } from '@kit/http'
import { loadConfig } from './config.ts'
import { createWorkerService } from './worker-service.ts'

try {
  const config = loadConfig(process.env)
  const missing = (
    ['REDIS_URL', 'SMTP_URLS', 'SMS_PROVIDER_URLS', 'PUSH_PROVIDER_URLS'] as const
  ).filter((key) => config[key] === undefined)
  if (missing.length > 0) {
    throw new ConfigError(
      missing.map((key) => ({
        key,
        message: 'required by a worker process (main.ts sets it for the workers it starts)',
      }))
    )
  }
  const logger = createLogger({ name: 'notifications-worker', level: config.LOG_LEVEL })
  const service = createWorkerService({
    config,
    redisUrl: config.REDIS_URL!,
    urls: {
      smtp: config.SMTP_URLS!,
      sms: config.SMS_PROVIDER_URLS!,
      push: config.PUSH_PROVIDER_URLS!,
    },
    logger,
    // src/worker-main.ts and dist/worker-main.js both sit one level below the package.
    migrationsFolder: fileURLToPath(new URL('../drizzle', import.meta.url)),
  })
  await service.workers.waitUntilReady()
  logger.info(
    { pid: process.pid, concurrency: config.CHANNEL_CONCURRENCY },
    'delivery workers ready'
  )
  process.send?.({ ready: true })

  let closing: Promise<void> | undefined
  const shutdown = (signal: string) => {
    closing ??= (async () => {
      logger.info({ signal }, 'worker shutting down: finishing running deliveries')
      await service.close()
      logger.info('worker stopped')
      process.exit(0)
    })()
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  // Started by main.ts: when it is gone (killed, crashed), so is this worker.
  if (process.send) process.on('disconnect', () => shutdown('parent exited'))
} catch (error) {
  exitOnConfigError(error)
}
