import {
  createOpenApiApp,
  errorHandler,
  kitMiddleware,
  notFoundHandler,
  serveApiDocs,
  type Health,
} from '@kit/http'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { MiddlewareHandler, Context } from 'hono'
import type { DeliveryLog } from './delivery/delivery-log.ts'
import { operationsRoutes } from './delivery/operations.routes.ts'
import type { ChannelQueues, DeadLetters } from './delivery/queues.ts'
import { eventRoutes } from './events/events.routes.ts'
import type { Trigger } from './events/trigger.ts'
import type { InboxStore } from './inbox/inbox-store.ts'
import { inboxRoutes } from './inbox/inbox.routes.ts'
import type { LiveInbox } from './inbox/live-inbox.ts'
import type { OutboxRelay } from './outbox/index.ts'
import type { GuardOptions } from './ssrf-guard/index.ts'
import type { SubscriberStore } from './subscribers/subscriber-store.ts'
import { subscriberRoutes } from './subscribers/subscribers.routes.ts'
import type { Templates } from './templates/templates.ts'

export type AppDeps = {
  trigger: Trigger
  relay: Pick<OutboxRelay, 'wake'>
  log: DeliveryLog
  subscribers: SubscriberStore
  templates: Templates
  inbox: InboxStore
  live: LiveInbox
  deadLetters: DeadLetters
  queues: ChannelQueues
  /** A 'request' client: fails fast while Redis is down. */
  redis: Redis
  prefix: string
  maxRecipients: number
  /** The resolver and address policy webhook registrations are checked with. */
  ssrf: GuardOptions
  health: Health
  metrics: {
    registry: Registry
    middleware: MiddlewareHandler
    handler: (c: Context) => Promise<Response>
  }
  logger: Logger
}

/**
 * The notification service's HTTP API, built from its dependencies (no I/O here): the trigger,
 * subscribers and webhooks, the inbox with its live stream, the delivery log and its timeline
 * page, the dead-letter queue, templates, health, metrics and the OpenAPI document.
 */
export function createApp(deps: AppDeps) {
  const app = createOpenApiApp()
  app.use(kitMiddleware({ logger: deps.logger, accessLog: true }))
  app.use(deps.metrics.middleware)
  app.route('/', deps.health.routes)
  app.get('/metrics', deps.metrics.handler)

  eventRoutes(app, {
    trigger: deps.trigger,
    log: deps.log,
    relay: deps.relay,
    maxRecipients: deps.maxRecipients,
  })
  subscriberRoutes(app, { subscribers: deps.subscribers, ssrf: deps.ssrf })
  inboxRoutes(app, { inbox: deps.inbox, live: deps.live })
  operationsRoutes(app, {
    deadLetters: deps.deadLetters,
    log: deps.log,
    redis: deps.redis,
    prefix: deps.prefix,
    templates: deps.templates,
  })

  serveApiDocs(app, {
    title: 'Notifications',
    version: '1.0.0',
    description:
      'One event fanned out to email, SMS, push, Standard Webhooks and an in-app inbox: a SQLite outbox, a BullMQ queue per channel, preferences, quiet hours, digests, provider failover behind circuit breakers, and a delivery log.',
  })
  app.notFound(notFoundHandler)
  app.onError(errorHandler({ logger: deps.logger }))
  return app
}
