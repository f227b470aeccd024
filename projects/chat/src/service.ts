import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import { createHealth, createMetrics, type Health } from '@kit/http'
import { createRedis, pingRedis, waitForRedis } from '@kit/redis'
import { sql } from 'drizzle-orm'
import { Cluster, type Redis } from 'ioredis'
import type { Logger } from 'pino'
import { WebSocketServer } from 'ws'
import { createApp } from './app.ts'
import { createTokens, memoryRevocations, redisRevocations } from './auth/tokens.ts'
import type { Config } from './config.ts'
import { openDatabase } from './db/database.ts'
import { createLocalBus, createRedisBus } from './fan-out/bus.ts'
import { createRoomHub } from './fan-out/room-hub.ts'
import { CLOSE, createChatGateway, encodeMessage } from './gateway/chat-gateway.ts'
import { registerChatMetrics } from './metrics.ts'
import { createPresence } from './presence/presence.ts'
import { createThrottle } from './presence/typing-throttle.ts'
import { createRedisRoomLog, roomTag } from './room-log/redis-room-log.ts'
import type { ChatMessage } from './room-log/room-log.ts'
import { createSqliteRoomLog } from './room-log/sqlite-room-log.ts'
import { createRedisRoomDirectory } from './rooms/redis-room-directory.ts'
import { createSqliteRoomDirectory } from './rooms/sqlite-room-directory.ts'
import { CHAT_PROTOCOL } from './routes/ws.route.ts'
import { createConnectionCap } from './ws-guards/connection-cap.ts'
import { createOriginPolicy } from './ws-guards/origin-allowlist.ts'

export type Mode = 'embedded' | 'redis' | 'redis-cluster'

/** Where the migrations are: beside src/ in the repo, beside dist/ in a deployed package. */
const MIGRATIONS = fileURLToPath(new URL('../drizzle', import.meta.url))

type Clients = {
  /** Commands: fails fast while Redis is down (the frame gets `unavailable`, the client retries). */
  commands: Redis | Cluster
  /** Subscriptions: waits and re-subscribes after an outage. */
  subscriber: Redis | Cluster
  ready(): Promise<void>
  quit(): Promise<void>
}

/**
 * QUIT each client, or drop its connection if Redis does not answer within a second: a
 * subscriber waits for Redis to come back before it sends QUIT, and a shutdown must not.
 */
async function quitAll(clients: (Redis | Cluster)[]): Promise<void> {
  await Promise.allSettled(
    clients.map(async (client) => {
      const timer = setTimeout(() => client.disconnect(), 1000)
      try {
        await client.quit()
      } catch {
        client.disconnect()
      } finally {
        clearTimeout(timer)
      }
    })
  )
}

function redisClients(config: Config, logger: Logger): Clients | undefined {
  if (config.REDIS_CLUSTER_NODES) {
    const nodes = config.REDIS_CLUSTER_NODES.map((url) => {
      const { hostname: host, port } = new URL(url)
      return { host, port: Number(port || 6379) }
    })
    const clusterOptions = {
      clusterRetryStrategy: (times: number) => Math.min(50 * 2 ** times, 1000),
      redisOptions: { connectTimeout: 1000 },
    }
    const commands = new Cluster(nodes, {
      ...clusterOptions,
      enableOfflineQueue: false,
      redisOptions: {
        ...clusterOptions.redisOptions,
        commandTimeout: 500,
        maxRetriesPerRequest: 1,
      },
    })
    // One subscriber connection per master: SSUBSCRIBE goes to the shard that owns the channel.
    const subscriber = new Cluster(nodes, { ...clusterOptions, shardedSubscribers: true })
    for (const [name, client] of [
      ['commands', commands],
      ['subscriber', subscriber],
    ] as const) {
      client.on('error', (err: Error) => logger.debug({ err, redis: name }, 'redis cluster error'))
    }
    const readyOf = (client: Cluster) =>
      client.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => client.once('ready', () => resolve()))
    return {
      commands,
      subscriber,
      ready: async () => {
        await Promise.all([readyOf(commands), readyOf(subscriber)])
      },
      quit: () => quitAll([subscriber, commands]),
    }
  }
  if (!config.REDIS_URL) return undefined
  const commands = createRedis(config.REDIS_URL, { role: 'request', name: 'chat', logger })
  const subscriber = createRedis(config.REDIS_URL, {
    role: 'subscriber',
    name: 'chat-fan-out',
    logger,
  })
  return {
    commands,
    subscriber,
    ready: async () => {
      await Promise.all([waitForRedis(commands, 10_000), waitForRedis(subscriber, 10_000)])
    },
    quit: () => quitAll([subscriber, commands]),
  }
}

/**
 * Everything the chat runs, built from the config: the stores of the chosen mode (SQLite alone;
 * Redis with a SQLite archive; a Redis Cluster with sharded pub/sub), the hub, presence, the
 * gateway, the `ws` server and the Hono app. main.ts serves it; tests build it in-process.
 *
 * @example
 * ```ts
 * const chat = await createChatService(loadConfig(process.env), { logger })
 * await serveApp(chat.app, { port, logger, websocket: { server: chat.wss }, health: chat.health })
 * ```
 */
export async function createChatService(
  config: Config,
  {
    logger,
    instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
  }: {
    logger: Logger
    instanceId?: string
  }
) {
  const database = openDatabase(config.DB_FILE, { migrationsFolder: MIGRATIONS })
  const sqliteLog = createSqliteRoomLog({ db: database.db })
  const clients = redisClients(config, logger)
  const mode: Mode = !clients ? 'embedded' : config.REDIS_CLUSTER_NODES ? 'redis-cluster' : 'redis'
  const prefix = config.KEY_PREFIX
  const redis = clients?.commands

  const log = redis
    ? createRedisRoomLog({
        redis,
        prefix,
        maxLength: config.HISTORY_MAX_LENGTH,
        maxAgeMs: config.HISTORY_MAX_AGE_SECONDS * 1000,
        dedupeTtlMs: config.DEDUPE_TTL_SECONDS * 1000,
        archive: sqliteLog,
        onArchiveError: (err) => logger.warn({ err }, 'archive copy failed; retried in a second'),
      })
    : sqliteLog
  const directory = redis
    ? createRedisRoomDirectory({ redis, prefix })
    : createSqliteRoomDirectory({ db: database.db })
  const tokens = createTokens({
    // One process: a fresh secret per start is enough (tokens die with it). Several: config.
    secret: config.TOKEN_SECRET ?? randomBytes(32).toString('base64url'),
    ttlSeconds: config.TOKEN_TTL_SECONDS,
    revocations: redis ? redisRevocations(redis, prefix) : memoryRevocations(),
  })
  const presence = createPresence({
    ...(redis && { redis }),
    prefix,
    instanceId,
    ttlMs: config.PRESENCE_TTL_MS,
  })

  const hub = createRoomHub<ChatMessage>({
    log,
    encode: encodeMessage,
    highWaterMark: config.HIGH_WATER_MARK_BYTES,
    policy: config.SLOW_CONSUMER_POLICY,
    onError: (err, room) => logger.warn({ err, room }, 'gap fill failed; the resync retries'),
    bus: (receive) =>
      clients
        ? createRedisBus({
            publisher: clients.commands,
            subscriber: clients.subscriber,
            channel: (room) => roomTag(prefix, room),
            sharded: mode === 'redis-cluster',
            onMessage: receive,
            onReconnect: () => void hub.resync(),
          })
        : createLocalBus({ onMessage: receive }),
  })
  const publishEvent = (room: string, event: object) =>
    hub.publishEvent(room, JSON.stringify(event))

  const gateway = createChatGateway({
    log,
    directory,
    hub,
    presence,
    typing: createThrottle({ intervalMs: config.TYPING_THROTTLE_MS }),
    heartbeatMs: config.HEARTBEAT_INTERVAL_MS,
    rateLimit: { capacity: config.RATE_LIMIT_MESSAGES, windowMs: config.RATE_LIMIT_WINDOW_MS },
    maxPayloadBytes: config.MAX_PAYLOAD_BYTES,
    logger,
  })

  // Logout reaches every instance: one classic pub/sub channel (rare events; fine on a cluster).
  const controlChannel = `${prefix}control`
  const onControl = (channel: string, text: string) => {
    if (channel !== controlChannel) return
    const event = JSON.parse(text) as { type: string; user: string }
    if (event.type === 'logout') gateway.closeUser(event.user)
  }
  if (clients) {
    clients.subscriber.on('message', onControl)
    await clients.subscriber.subscribe(controlChannel)
  }
  const onLogout = clients
    ? async (user: string) => {
        await clients.commands.publish(controlChannel, JSON.stringify({ type: 'logout', user }))
      }
    : (user: string) => {
        gateway.closeUser(user)
        return Promise.resolve()
      }

  const timers = [
    setInterval(
      () => {
        gateway
          .presenceTick()
          .catch((err: unknown) => logger.warn({ err }, 'presence refresh failed'))
      },
      Math.floor(config.PRESENCE_TTL_MS / 3)
    ),
    ...(clients ? [setInterval(() => void hub.resync(), config.RESYNC_INTERVAL_MS)] : []),
  ]
  for (const timer of timers) timer.unref()

  const health: Health = createHealth([
    { name: 'sqlite', critical: true, check: () => database.db.get(sql`SELECT 1`) !== undefined },
    ...(redis
      ? [
          {
            name: 'redis',
            critical: true,
            check: () => (redis instanceof Cluster ? redis.status === 'ready' : pingRedis(redis)),
          },
        ]
      : []),
  ])
  const metrics = createMetrics({ collectDefaultMetrics: true })
  registerChatMetrics(metrics.registry, { gateway: () => gateway.stats(), hub: () => hub.stats() })

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.MAX_PAYLOAD_BYTES,
    // Off: OWASP advises against it (compression side channels), ws warns of memory
    // fragmentation under load, and a prepared frame is the same bytes for every socket.
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(CHAT_PROTOCOL) ? CHAT_PROTOCOL : false),
  })

  const app = createApp({
    log,
    directory,
    presence,
    tokens,
    origins: createOriginPolicy({
      allowed: config.ALLOWED_ORIGINS,
      allowMissing: config.ALLOW_MISSING_ORIGIN,
    }),
    cap: createConnectionCap({ max: config.MAX_CONNECTIONS_PER_USER }),
    gateway,
    onLogout,
    publishEvent,
    logger,
    health,
    metrics,
  })

  return {
    app,
    wss,
    gateway,
    hub,
    log,
    directory,
    health,
    tokens,
    mode,
    instanceId,
    ready: () => clients?.ready() ?? Promise.resolve(),
    /** Readiness 503, then every socket closed with 1001 (clients reconnect elsewhere). */
    async drain(): Promise<void> {
      health.setDraining()
      await gateway.closeAll(CLOSE.goingAway, 'server shutting down')
    },
    /** After the HTTP server closed: stop timers, leave presence, flush the archive, disconnect. */
    async close(): Promise<void> {
      for (const timer of timers) clearInterval(timer)
      gateway.close()
      await presence.close().catch((err: unknown) => logger.warn({ err }, 'presence not cleared'))
      await hub.close()
      await log.close()
      clients?.subscriber.off('message', onControl)
      await clients?.quit()
      database.close()
    },
  }
}

export type ChatService = Awaited<ReturnType<typeof createChatService>>
