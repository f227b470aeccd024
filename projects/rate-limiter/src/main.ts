/**
 * The rate limiter demo service. The only file that reads the environment, listens and handles
 * signals (serveApp drains on SIGTERM/SIGINT, then closes Redis). A bad configuration, or a port
 * another process holds, ends with one line per key and exit code 1, without a stack trace.
 */
import { exitOnConfigError } from '@kit/config'
import { createLogger, serveApp } from '@kit/http'
import { loadConfig } from './config.ts'
import { createService } from './service.ts'

try {
  const config = loadConfig(process.env)
  const logger = createLogger({ name: 'rate-limiter', level: config.LOG_LEVEL })
  const service = createService(config, { logger })

  await serveApp(service.app, {
    port: config.PORT,
    hostname: config.HOST,
    logger,
    health: service.health,
    listeningFields: {
      backend: service.limits.backend,
      onStoreFailure: config.STORE_FAILURE,
      shadowMode: config.SHADOW_MODE,
      policies: Object.keys(config.POLICIES.policies),
    },
    onShutdown: () => service.close(),
  }).catch(async (error: unknown) => {
    // Not listening: release Redis before main.ts exits.
    await service.close()
    throw error
  })
} catch (error) {
  exitOnConfigError(error)
}
