/**
 * The service's composition root, shared by main.ts and the component tests: config → Redis
 * client (when REDIS_URL is set) → limiters → metrics → health → app. Opens the Redis connection
 * but listens nowhere; `serveApp` does that.
 */
import { createHealth, createMetrics } from '@kit/http'
import { createRedis } from '@kit/redis'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { createApp } from './app.ts'
import type { Config } from './config.ts'
import { createLimits, type Limits } from './limits.ts'
import { createRateLimitMetrics } from './metrics.ts'

export type Service = {
  app: ReturnType<typeof createApp>
  health: ReturnType<typeof createHealth>
  limits: Limits
  metrics: ReturnType<typeof createMetrics>
  redis: Redis | undefined
  /** Stops the limiters' timers and closes Redis: pass it to serveApp's onShutdown. */
  close(): Promise<void>
}

export function createService(config: Config, { logger }: { logger: Logger }): Service {
  const redis = config.REDIS_URL
    ? createRedis(config.REDIS_URL, {
        role: 'request',
        name: 'rate-limiter',
        logger,
        redisOptions: {
          // Concurrent decisions share one round trip: the Node side is where a limiter's cost is.
          enableAutoPipelining: true,
          // No per-command timeout: its timer runs before the replies that arrived while the
          // process was busy are read, so a busy process would take a late answer for an outage.
          // The limiters' store monitor decides when Redis is down (REDIS_TIMEOUT_MS).
          commandTimeout: undefined,
        },
      })
    : undefined
  // What the limiters decide by: the store monitor (connection and answers), not the client's
  // connection state alone, which stays 'ready' while Redis is frozen.
  const storeUp = () => limits.monitor?.available() ?? true

  const metrics = createMetrics()
  const rateLimitMetrics = createRateLimitMetrics({
    registry: metrics.registry,
    backend: redis === undefined ? 'memory' : 'redis',
    storeUp,
    loadShedderInFlight: () => limits.shedder.inFlight,
  })
  const limits = createLimits(config, {
    redis,
    onLimiterEvent: rateLimitMetrics.recordLimiter,
    onStoreChange: (state, reason) =>
      state === 'down'
        ? logger.warn({ reason }, 'rate limit store down: the outage policy decides')
        : logger.info({ reason }, 'rate limit store up: Redis decides again'),
  })

  // Redis is critical for readiness only when an outage means refusing traffic (fail-closed);
  // with fail-open or insurance the service still serves, and reports itself degraded.
  // The check asks the limiters' monitor, so a Redis found down here also sends decisions to the
  // outage policy at once, and one found down by decisions fails the check.
  const monitor = limits.monitor
  const health = createHealth(
    monitor === undefined
      ? []
      : [
          {
            name: 'redis',
            critical: config.STORE_FAILURE === 'fail-closed',
            check: () => monitor.check(),
          },
        ],
    // The monitor's verdict on a frozen Redis takes REDIS_TIMEOUT_MS.
    { timeoutMs: config.REDIS_TIMEOUT_MS + 250 }
  )

  const app = createApp({ config, limits, logger, health, storeUp, metrics, rateLimitMetrics })

  return {
    app,
    health,
    limits,
    metrics,
    redis,
    async close() {
      limits.close()
      await redis?.quit().catch(() => redis.disconnect())
    },
  }
}
