/**
 * The URL shortener's entry point: the only file that reads the environment, opens files and
 * connections, listens and handles signals. Any start-up error that is the operator's to fix
 * (a bad variable, a taken port, an unreadable key file) ends the process with one line per
 * problem and exit code 1, no stack trace.
 */
import { fileURLToPath } from 'node:url'
import { exitOnConfigError } from '@kit/config'
import { createHealth, createLogger, createMetrics, serveApp } from '@kit/http'
import { createRedis, pingRedis, waitForRedis } from '@kit/redis'
import { sql } from 'drizzle-orm'
import { topLinks } from './analytics/analytics-queries.ts'
import { createClickRecorder } from './analytics/click-recorder.ts'
import { createApp } from './app.ts'
import { createCodeStrategy } from './codes/code-strategy.ts'
import { loadConfig } from './config.ts'
import { openServiceDatabase } from './database.ts'
import { createLinkCache } from './link-cache/link-cache.ts'
import { createLinkStore } from './links/link-store.ts'
import { warmUpCache } from './warm-up.ts'
import { defaultApiKeyFile, loadOrCreateApiKey } from './api-key-file.ts'
import { createCreationLimiter } from './middleware/creation-limit.ts'

async function main(): Promise<void> {
  const config = loadConfig(process.env)
  const logger = createLogger({ name: 'url-shortener', level: config.LOG_LEVEL })

  let apiKey = config.API_KEY
  if (apiKey === undefined) {
    const file = config.API_KEY_FILE ?? defaultApiKeyFile(config.DB_FILE)
    const loaded = loadOrCreateApiKey(file)
    apiKey = loaded.key
    // Said once, on stderr, never with the key: logs are shipped and kept, the file is not.
    process.stderr.write(
      `API_KEY is not set: the management key is ${loaded.created ? 'generated in' : 'read from'} ${file} (mode 0600)\n`
    )
  }

  // src/main.ts and dist/main.js both sit one level below the package: ../drizzle is the same.
  const database = openServiceDatabase(config.DB_FILE, {
    migrationsFolder: fileURLToPath(new URL('../drizzle', import.meta.url)),
    onCheckpointerError: (err) =>
      logger.error({ err }, 'WAL checkpoint thread failed: commits checkpoint again, slower'),
  })
  const redis = config.REDIS_URL
    ? createRedis(config.REDIS_URL, { role: 'request', name: 'url-shortener', logger })
    : undefined

  const codes = createCodeStrategy(config.CODE_STRATEGY, {
    length: config.CODE_LENGTH,
    workerId: config.WORKER_ID,
    secret: config.CODE_SECRET,
  })
  const links = createLinkStore({ db: database.db, codes })
  const cache = createLinkCache({
    load: (code) => links.redirectEntry(code),
    version: (entry) => entry.version,
    redis,
    maxEntries: config.CACHE_SIZE,
    ttlMs: config.CACHE_TTL_SECONDS * 1000,
    logger,
  })
  const clicks = config.TRACK_CLICKS ? createClickRecorder({ db: database.db, logger }) : undefined

  const health = createHealth([
    { name: 'sqlite', critical: true, check: () => database.db.get(sql`SELECT 1`) !== undefined },
    ...(redis ? [{ name: 'redis', critical: false, check: () => pingRedis(redis) }] : []),
  ])
  const metrics = createMetrics({ collectDefaultMetrics: true })

  const app = createApp({
    config,
    links,
    cache,
    db: database.db,
    clicks,
    creationLimiter:
      config.CREATE_RATE_LIMIT > 0
        ? createCreationLimiter({ perMinute: config.CREATE_RATE_LIMIT, redis })
        : undefined,
    apiKey,
    logger,
    health,
    metrics,
  })

  if (redis) {
    // The cache works without Redis, so a slow Redis only delays the warm-up, never the start.
    await waitForRedis(redis, 2000).catch((err: unknown) =>
      logger.warn({ err }, 'Redis not ready at start: serving from SQLite until it is')
    )
  }
  const warmed = await warmUpCache({
    cache,
    links,
    topLinkIds: topLinks(database.db, config.WARM_UP_LINKS),
  })

  async function close(): Promise<void> {
    // Reverse order of start: no request is running any more, so every click is in the buffer.
    await clicks?.close()
    cache.close()
    await redis?.quit().catch(() => redis.disconnect())
    await database.close()
  }

  try {
    await serveApp(app, {
      port: config.PORT,
      hostname: config.HOST,
      logger,
      health,
      drainDelayMs: config.DRAIN_DELAY_MS,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      listeningFields: {
        shortLinks: config.PUBLIC_BASE_URL,
        cache: cache.stats().mode,
        warmed,
        codes: codes.name,
      },
      onShutdown: close,
    })
  } catch (error) {
    // A taken port: nothing was served, but the database and Redis are open.
    await close()
    throw error
  }
}

try {
  await main()
} catch (error) {
  exitOnConfigError(error)
}
