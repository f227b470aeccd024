import { createLogger, serveApp } from '@kit/http'
import { waitForRedis } from '@kit/redis'
import { uniqueName } from '@kit/testing'
import { parseRateLimit } from '../src/middleware/ratelimit-header-parser.ts'
import { loadConfig, type Config } from '../src/config.ts'
import { createService, type Service } from '../src/service.ts'

export type RunningService = Service & {
  config: Config
  url: string
  /** Every log line the service wrote (JSON, pino's numeric levels: 50 is error). */
  logs: { level: number; msg: string }[]
  stop(): Promise<void>
}

/**
 * The real service (createService, as main.ts builds it) on a free port of 127.0.0.1, with a key
 * prefix of its own so test files never share Redis keys. With REDIS_URL, resolves once the
 * client is ready.
 */
export async function startService(env: Record<string, string> = {}): Promise<RunningService> {
  const config = loadConfig({
    KEY_PREFIX: `${uniqueName('rate-limiter')}:`,
    ...env,
  })
  const logs: RunningService['logs'] = []
  const logger = createLogger({
    name: 'rate-limiter-test',
    level: env.LOG_LEVEL ?? 'warn',
    destination: {
      write: (line: string) => void logs.push(JSON.parse(line) as RunningService['logs'][number]),
    },
  })
  const service = createService(config, { logger })
  // Requests made before the client connects would meet the outage policy, not Redis.
  if (service.redis) await waitForRedis(service.redis, 5000)
  const server = await serveApp(service.app, {
    port: 0,
    hostname: '127.0.0.1',
    logger,
    health: service.health,
    handleSignals: false,
    onShutdown: () => service.close(),
  })
  return { ...service, config, url: server.url, logs, stop: () => server.shutdown() }
}

/** The POLICIES document that replaces one policy's numbers. */
export function policies(document: object): string {
  return JSON.stringify(document)
}

/** `r` of the first member of a response's RateLimit field (the parser the kit ships). */
export function remainingOf(response: Response): number | undefined {
  return parseRateLimit(response.headers.get('ratelimit'))[0]?.remaining
}

/** Counts the statuses of a list of responses: { 200: 10, 429: 40 }. */
export function statusCounts(responses: readonly Response[]): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const response of responses) counts[response.status] = (counts[response.status] ?? 0) + 1
  return counts
}
