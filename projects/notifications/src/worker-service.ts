import { createRedis } from '@kit/redis'
import type { Cluster, Redis } from 'ioredis'
import type { Logger } from 'pino'
import { Counter, Registry } from 'prom-client'
import type { Config } from './config.ts'
import { openDatabase } from './db/database.ts'
import { createGroupCommit } from './db/group-commit.ts'
import { createDeliveryLog } from './delivery/delivery-log.ts'
import { createDeliveryWorkers } from './delivery/delivery-worker.ts'
import { createChannelQueues, createDeadLetters } from './delivery/queues.ts'
import { createSenders, type ProviderUrls } from './delivery/senders.ts'
import { createInboxStore } from './inbox/inbox-store.ts'
import type { Resolver } from './ssrf-guard/index.ts'
import { createSubscriberStore } from './subscribers/subscriber-store.ts'
import { createTemplates } from './templates/templates.ts'

/**
 * A worker process, wired: the shared SQLite file, the providers behind their ladders, and one
 * BullMQ worker per channel. Its Redis clients wait through an outage (workers resume by
 * themselves when Redis returns).
 */
export function createWorkerService({
  config,
  redisUrl,
  urls,
  logger,
  migrationsFolder,
  resolver,
  connection: injected,
  registry = new Registry(),
}: {
  config: Config
  redisUrl: string
  urls: ProviderUrls
  logger: Logger
  migrationsFolder: string
  /** Resolves webhook hosts at connect time; default the system's. Tests inject one. */
  resolver?: Resolver
  /** The queues' Redis when not `redisUrl` (an ioredis Cluster); the caller closes it. */
  connection?: Redis | Cluster
  registry?: Registry
}) {
  const database = openDatabase(config.DB_FILE, { migrationsFolder })
  const prefix = config.QUEUE_PREFIX
  const owned = injected
    ? undefined
    : createRedis(redisUrl, { role: 'worker', name: 'notifications-worker', logger })
  const connection = injected ?? owned!
  const deliveries = new Counter({
    name: 'notifications_deliveries_total',
    help: 'Delivery attempts by channel, outcome and provider',
    labelNames: ['channel', 'outcome', 'provider'],
    registers: [registry],
  })
  const inbox = createInboxStore(database.db)
  // One group commit per process: the inbox inserts and the log's writes share its transactions.
  const commit = createGroupCommit(database.sqlite)
  const senders = createSenders({
    config,
    urls,
    inbox,
    commit,
    redis: connection,
    prefix,
    ...(resolver && { resolver }),
  })
  const queues = createChannelQueues({ connection, prefix, config })
  const deadLetters = createDeadLetters({ queues, connection, prefix })
  const workers = createDeliveryWorkers({
    db: database.db,
    log: createDeliveryLog(database.db),
    commit,
    subscribers: createSubscriberStore(database.db),
    templates: createTemplates(database.db),
    senders,
    deadLetters,
    queues,
    config,
    connection,
    prefix,
    logger,
    onOutcome: (channel, outcome, provider) =>
      deliveries.inc({ channel, outcome, provider: provider ?? '' }),
  })
  return {
    workers,
    registry,
    /** Lets running deliveries finish (BullMQ's graceful close), then closes the rest. */
    async close() {
      await workers.close()
      await Promise.allSettled([
        queues.close(),
        ...Object.values(deadLetters).map((d) => d.close()),
      ])
      senders.close()
      await owned?.quit().catch(() => owned.disconnect())
      database.close()
    },
  }
}

export type WorkerService = ReturnType<typeof createWorkerService>
