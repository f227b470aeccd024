import { createHealth, createMetrics, type Health } from '@kit/http'
import { createRedis, pingRedis } from '@kit/redis'
import type { Cluster, Redis } from 'ioredis'
import type { Logger } from 'pino'
import { Gauge, Histogram } from 'prom-client'
import { createApp } from './app.ts'
import type { Config } from './config.ts'
import { openDatabase } from './db/database.ts'
import { createDeliveryLog } from './delivery/delivery-log.ts'
import { createChannelQueues, createDeadLetters } from './delivery/queues.ts'
import { breakerBoardKey } from './delivery/senders.ts'
import { createTrigger } from './events/trigger.ts'
import { createFanOut } from './fan-out/plan-deliveries.ts'
import { createInboxStore } from './inbox/inbox-store.ts'
import { createLiveInbox } from './inbox/live-inbox.ts'
import { createOutbox, startOutboxRelay } from './outbox/index.ts'
import { createAddressPolicy, type Resolver } from './ssrf-guard/index.ts'
import { createSubscriberStore } from './subscribers/subscriber-store.ts'
import { createTemplates } from './templates/templates.ts'

export type ApiServiceOptions = {
  config: Config
  redisUrl: string
  logger: Logger
  migrationsFolder: string
  /** Resolves webhook hosts at registration; default the system's. Tests inject one. */
  resolver?: Resolver
  /**
   * Where the channel queues and the dead-letter queue live, when not on `redisUrl`: e.g. an
   * ioredis Cluster (each queue is one hash tag, so the queues spread over the masters).
   */
  queueConnection?: Redis | Cluster
  /** The clock the fan-out plans by (quiet hours, digest windows); default `Date.now`. */
  now?: () => number
}

/**
 * The API process, wired: the SQLite file (events, outbox, delivery log, subscribers, inbox),
 * the trigger, the outbox relay that fans accepted events out to the channel queues, the live
 * inbox subscription, health and metrics, and the Hono app. `close()` stops them in reverse
 * order of start.
 */
export function createApiService({
  config,
  redisUrl,
  logger,
  migrationsFolder,
  resolver,
  queueConnection,
  now,
}: ApiServiceOptions) {
  const database = openDatabase(config.DB_FILE, { migrationsFolder })
  const { db, sqlite } = database
  const prefix = config.QUEUE_PREFIX

  // Request paths fail fast (503 at once); the relay's producer too, so a Redis outage keeps
  // events in the outbox instead of piling up in an ioredis offline queue.
  const redis = createRedis(redisUrl, { role: 'request', name: 'notifications-api', logger })
  const producer = createRedis(redisUrl, {
    role: 'request',
    name: 'notifications-relay',
    logger,
    redisOptions: { commandTimeout: 5000 },
  })
  const subscriber: Redis = createRedis(redisUrl, {
    role: 'subscriber',
    name: 'notifications-inbox',
    logger,
  })

  const outbox = createOutbox(sqlite)
  const log = createDeliveryLog(db)
  const subscribers = createSubscriberStore(db)
  const templates = createTemplates(db)
  const inbox = createInboxStore(db)
  const trigger = createTrigger({
    db,
    outbox,
    idempotencyTtlMs: config.IDEMPOTENCY_TTL_HOURS * 3_600_000,
  })
  const queues = createChannelQueues({ connection: queueConnection ?? producer, prefix, config })
  const deadLetters = createDeadLetters({ queues, connection: queueConnection ?? producer, prefix })
  const live = createLiveInbox({ subscriber, prefix })

  const metrics = createMetrics({ collectDefaultMetrics: true })
  const relayLag = new Histogram({
    name: 'notifications_outbox_relay_lag_seconds',
    help: 'Time from an event accepted (outbox append) to its deliveries queued in Redis',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120],
    registers: [metrics.registry],
  })
  new Gauge({
    name: 'notifications_outbox_backlog',
    help: 'Accepted events not yet fanned out (grows while Redis is down)',
    registers: [metrics.registry],
    collect() {
      this.set(outbox.backlog().count)
    },
  })
  new Gauge({
    name: 'notifications_breaker_open',
    help: "1 while a provider's circuit breaker is open, as the workers last reported it",
    labelNames: ['provider'],
    registers: [metrics.registry],
    async collect() {
      const board = await redis.hgetall(breakerBoardKey(prefix)).catch(() => ({}))
      for (const [provider, json] of Object.entries(board)) {
        this.set({ provider }, (JSON.parse(json) as { state: string }).state === 'open' ? 1 : 0)
      }
    },
  })

  const fanOut = createFanOut({ db, log, subscribers, queues, ...(now && { now }) })
  const relay = startOutboxRelay({
    outbox,
    publish: fanOut,
    batchSize: config.OUTBOX_BATCH,
    pollMs: config.OUTBOX_POLL_MS,
    onRelayed: (batch, lagMs) => {
      relayLag.observe(lagMs / 1000)
      logger.debug({ events: batch.length, lagMs }, 'fanned out')
    },
    onError: (err, batch) =>
      logger.warn({ err, events: batch.length }, 'fan-out failed: the outbox keeps the events'),
  })
  const pruning = setInterval(() => trigger.pruneKeys(), 3_600_000)
  pruning.unref()

  const breakerChecks = async () => {
    const board = await redis.hgetall(breakerBoardKey(prefix))
    return Object.values(board).every(
      (json) => (JSON.parse(json) as { state: string }).state !== 'open'
    )
  }
  const health: Health = createHealth([
    { name: 'sqlite', critical: true, check: () => sqlite.prepare('SELECT 1').get() !== undefined },
    { name: 'redis', critical: false, check: () => pingRedis(redis) },
    { name: 'outbox', critical: false, check: () => !relay.failing },
    { name: 'providers', critical: false, check: breakerChecks },
  ])

  const app = createApp({
    trigger,
    relay,
    log,
    subscribers,
    templates,
    inbox,
    live,
    deadLetters,
    queues,
    redis,
    prefix,
    maxRecipients: config.MAX_RECIPIENTS,
    ssrf: {
      policy: createAddressPolicy({ allow: config.WEBHOOK_ALLOWED_CIDRS }),
      ...(resolver && { resolver }),
    },
    health,
    metrics,
    logger,
  })

  return {
    app,
    health,
    relay,
    outbox,
    log,
    trigger,
    subscribers,
    inbox,
    deadLetters,
    queues,
    db,
    sqlite,
    redis,
    async close() {
      clearInterval(pruning)
      await relay.close()
      await Promise.allSettled([
        queues.close(),
        ...Object.values(deadLetters).map((d) => d.close()),
      ])
      for (const client of [subscriber, producer, redis])
        await client.quit().catch(() => client.disconnect())
      database.close()
    },
  }
}

export type ApiService = ReturnType<typeof createApiService>
