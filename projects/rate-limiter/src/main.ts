/**
 * The rate limiter demo service. The only file that reads the environment, listens and handles
 * signals (serveApp drains on SIGTERM/SIGINT, then closes Redis).
 */
import { createLogger, serveApp } from '@kit/http'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { createService } from './service.ts'

let config: Config
try {
  config = loadConfig(process.env)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  // Every bad key at once, without a stack trace: it is the operator's input, not a bug.
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
}

const logger = createLogger({ name: 'rate-limiter', level: config.logLevel })
const service = createService(config, { logger })

await serveApp(service.app, {
  port: config.port,
  hostname: config.host,
  logger,
  health: service.health,
  listeningFields: {
    backend: service.limits.backend,
    onStoreFailure: config.storeFailure,
    shadowMode: config.shadowMode,
    policies: Object.keys(config.policies),
  },
  onShutdown: () => service.close(),
})
