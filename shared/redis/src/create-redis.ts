import { Redis, type RedisOptions } from 'ioredis'

/**
 * What a client is for, which decides how it behaves while Redis is down:
 * - 'request': on an HTTP request path. Fails fast so the handler can answer 503 at once.
 * - 'worker': a background consumer. Waits: commands queue and run once Redis is back.
 * - 'subscriber': pub/sub. Waits, and ioredis re-subscribes its channels on reconnect.
 */
export type RedisRole = 'request' | 'worker' | 'subscriber'

/** The two calls of a pino logger that the client needs; pass the app's logger. */
export type RedisLogger = {
  warn(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
}

export type CreateRedisOptions = {
  /** Default 'request'. */
  role?: RedisRole
  /** Shown in logs and set as CLIENT SETNAME; default the role. */
  name?: string
  /** Default: console. */
  logger?: RedisLogger
  /** Merged last: overrides the role's settings. */
  redisOptions?: RedisOptions
}

/** Reconnect forever, quickly at first, never waiting more than 1 s between attempts. */
export function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** (attempt - 1), 1000)
}

const roleOptions: Record<RedisRole, RedisOptions> = {
  // BullMQ going-to-production, "fail fast when Redis is down": no offline queue, so a call
  // made while disconnected rejects at once instead of waiting for a reconnect.
  request: {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    commandTimeout: 500,
  },
  // maxRetriesPerRequest null: a pending command waits for the reconnect instead of being
  // flushed with an error after 20 attempts (ioredis README, "Auto-reconnect"); BullMQ
  // workers require it. No commandTimeout: blocking reads (BRPOP, XREADGROUP) wait by design.
  worker: { enableOfflineQueue: true, maxRetriesPerRequest: null },
  subscriber: { enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: true },
}

const consoleLogger: RedisLogger = {
  warn: (obj, msg) => console.warn(msg, obj),
  info: (obj, msg) => console.info(msg, obj),
}

/**
 * An ioredis client configured for its role, which never crashes its process on an outage:
 * an 'error' listener is always attached, and the outage is logged once when it starts and
 * once when it ends, not on every reconnect attempt. Connects at once (lazyConnect false).
 *
 * @example
 * ```ts
 * const redis = createRedis(config.REDIS_URL, { role: 'request', logger })
 * const worker = createRedis(config.REDIS_URL, { role: 'worker', name: 'mailer', logger })
 * ```
 */
export function createRedis(
  url: string,
  {
    role = 'request',
    name = role,
    logger = consoleLogger,
    redisOptions = {},
  }: CreateRedisOptions = {}
): Redis {
  const redis = new Redis(url, {
    retryStrategy: reconnectDelay,
    connectionName: name,
    ...roleOptions[role],
    ...redisOptions,
    lazyConnect: redisOptions.lazyConnect ?? false,
  })

  let down = false
  redis.on('error', function onRedisError(err: Error) {
    if (down) return
    down = true
    logger.warn({ err, redis: name, role }, 'redis unavailable, reconnecting')
  })
  redis.on('ready', function onRedisReady() {
    if (!down) return
    down = false
    logger.info({ redis: name, role }, 'redis available again')
  })
  return redis
}
