/**
 * The notification service's API process: the only file (with worker-main.ts) that reads the
 * environment, listens and handles signals. With nothing set it runs embedded: a redis-server
 * child, local SMTP/SMS/push providers on loopback sockets, and WORKERS worker processes.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { exitOnConfigError } from '@kit/config'
import { createLogger, serveApp } from '@kit/http'
import { loadConfig } from './config.ts'
import { startEmbeddedRedis } from './embedded/embedded-redis.ts'
import { startLocalProviders } from './embedded/local-providers.ts'
import { startWorkerProcesses } from './embedded/worker-processes.ts'
import { createApiService } from './service.ts'

/** What has started so far, stopped in reverse order (on shutdown, or when start-up fails). */
const started: (() => Promise<void>)[] = []
async function stopAll() {
  for (const stop of started.splice(0).reverse()) await stop().catch(() => undefined)
}

try {
  const config = loadConfig(process.env)
  const logger = createLogger({ name: 'notifications', level: config.LOG_LEVEL })

  const redis = config.REDIS_URL
    ? undefined
    : await startEmbeddedRedis({ dir: join(config.DATA_DIR, 'redis') })
  if (redis) started.push(() => redis.stop())
  const redisUrl = config.REDIS_URL ?? redis!.url
  const local = await startLocalProviders({
    smtp: !config.SMTP_URLS,
    sms: !config.SMS_PROVIDER_URLS,
    push: !config.PUSH_PROVIDER_URLS,
  })
  started.push(() => local.close())
  const urls = {
    smtp: config.SMTP_URLS ?? local.urls.smtp,
    sms: config.SMS_PROVIDER_URLS ?? local.urls.sms,
    push: config.PUSH_PROVIDER_URLS ?? local.urls.push,
  }

  const service = createApiService({
    config,
    redisUrl,
    logger,
    // src/main.ts and dist/main.js both sit one level below the package: ../drizzle is the same.
    migrationsFolder: fileURLToPath(new URL('../drizzle', import.meta.url)),
  })
  started.push(() => service.close())

  await serveApp(service.app, {
    port: config.PORT,
    hostname: config.HOST,
    logger,
    health: service.health,
    listeningFields: {
      redis: redis ? `embedded (${redisUrl})` : 'REDIS_URL',
      providers: urls,
      workers: config.WORKERS,
      docs: '/docs',
    },
    // Reverse order of start: the workers finish their deliveries, the relay stops, then the
    // local providers and the embedded Redis go.
    onShutdown: stopAll,
  })

  const workers = startWorkerProcesses({
    count: config.WORKERS,
    logger,
    env: {
      REDIS_URL: redisUrl,
      SMTP_URLS: urls.smtp.join(','),
      SMS_PROVIDER_URLS: urls.sms.join(','),
      PUSH_PROVIDER_URLS: urls.push.join(','),
      DB_FILE: config.DB_FILE,
    },
  })
  started.push(() => workers.stop())
} catch (error) {
  await stopAll()
  exitOnConfigError(error)
}
