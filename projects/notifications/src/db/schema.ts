import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

/** JSON columns are TEXT holding JSON, typed on the TypeScript side. */
const json = <T>(name: string) => text(name, { mode: 'json' }).$type<T>()

export type Preferences = {
  /** A channel switched off for every event type (`{ sms: false }`). */
  channels?: Partial<Record<string, boolean>>
  /** Per event type, per channel (`{ 'marketing.weekly': { email: false } }`). */
  eventTypes?: Record<string, Partial<Record<string, boolean>>>
  /** Event types gathered into one message per window, in seconds (`{ 'comment.created': 3600 }`). */
  digest?: Record<string, number>
}

/** Who notifications go to, where, and what they accepted. */
export const subscribers = sqliteTable('subscribers', {
  id: text('id').primaryKey(),
  email: text('email'),
  phone: text('phone'),
  pushTokens: json<string[]>('push_tokens')
    .notNull()
    .default(sql`'[]'`),
  timezone: text('timezone').notNull().default('UTC'),
  quietStart: text('quiet_start'),
  quietEnd: text('quiet_end'),
  preferences: json<Preferences>('preferences')
    .notNull()
    .default(sql`'{}'`),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
})

export type EndpointSecret = {
  secret: string
  /** Unix ms; absent for the current one. */ expiresAt?: number
}

/** Standard Webhooks endpoints, several per subscriber, each with its own secrets. */
export const webhookEndpoints = sqliteTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    subscriberId: text('subscriber_id').notNull(),
    url: text('url').notNull(),
    /** null: every event type. */
    eventTypes: json<string[] | null>('event_types'),
    secrets: json<EndpointSecret[]>('secrets').notNull(),
    status: text('status', { enum: ['enabled', 'disabled'] }).notNull(),
    disabledReason: text('disabled_reason'),
    /** When the current run of failures began; cleared by a success. */
    failingSince: integer('failing_since'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('webhook_endpoints_subscriber').on(t.subscriberId)]
)

/** What each channel says for an event type (LiquidJS templates). */
export const templates = sqliteTable(
  'templates',
  {
    eventType: text('event_type').notNull(),
    channel: text('channel').notNull(),
    content: json<Record<string, string>>('content').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventType, t.channel] })]
)

/** Accepted events, written with their outbox message in one transaction. */
export const events = sqliteTable('events', {
  id: text('id').primaryKey(),
  type: text('type').notNull(),
  data: json<Record<string, unknown>>('data').notNull(),
  recipients: json<string[]>('recipients').notNull(),
  channels: json<string[]>('channels').notNull(),
  critical: integer('critical', { mode: 'boolean' }).notNull(),
  acceptedAt: integer('accepted_at').notNull(),
})

/** Idempotency-Key → the first response, replayed for the same body (Stripe's rules). */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    key: text('key').primaryKey(),
    requestHash: text('request_hash').notNull(),
    status: integer('status').notNull(),
    body: text('body').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('idempotency_keys_expiry').on(t.expiresAt)]
)

export const DELIVERY_STATUSES = ['queued', 'sent', 'failed', 'suppressed'] as const
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]

/** One message of one event to one recipient on one channel: its current state. */
export const deliveries = sqliteTable(
  'deliveries',
  {
    id: text('id').primaryKey(),
    eventId: text('event_id').notNull(),
    channel: text('channel').notNull(),
    subscriberId: text('subscriber_id').notNull(),
    /** The address, number, push token, endpoint id, or 'inbox'. */
    target: text('target').notNull(),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull(),
    reason: text('reason'),
    attempts: integer('attempts').notNull().default(0),
    provider: text('provider'),
    /**
     * Set when a provider failed ambiguously (a timeout: it may have accepted the message):
     * every later attempt goes to that provider only, which deduplicates its own keys.
     */
    pinnedProvider: text('pinned_provider'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('deliveries_event').on(t.eventId)]
)

/** The delivery log: every step of every delivery, for the API and the timeline page. */
export const deliveryLog = sqliteTable(
  'delivery_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    deliveryId: text('delivery_id').notNull(),
    eventId: text('event_id').notNull(),
    at: integer('at').notNull(),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull(),
    reason: text('reason'),
    provider: text('provider'),
    attempt: integer('attempt'),
    detail: text('detail'),
  },
  (t) => [index('delivery_log_event').on(t.eventId, t.id)]
)

/** The in-app inbox. The id orders a subscriber's items and is the SSE event id. */
export const inboxItems = sqliteTable(
  'inbox_items',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    subscriberId: text('subscriber_id').notNull(),
    deliveryId: text('delivery_id').notNull(),
    eventId: text('event_id').notNull(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    data: json<Record<string, unknown>>('data').notNull(),
    createdAt: integer('created_at').notNull(),
    readAt: integer('read_at'),
  },
  (t) => [
    uniqueIndex('inbox_items_delivery').on(t.deliveryId),
    index('inbox_items_subscriber').on(t.subscriberId, t.id),
  ]
)

/** An open digest window of one subscriber, channel and event type. */
export const digests = sqliteTable(
  'digests',
  {
    id: text('id').primaryKey(),
    subscriberId: text('subscriber_id').notNull(),
    channel: text('channel').notNull(),
    eventType: text('event_type').notNull(),
    openedAt: integer('opened_at').notNull(),
    closesAt: integer('closes_at').notNull(),
    status: text('status', { enum: ['open', 'closed'] }).notNull(),
  },
  (t) => [index('digests_open').on(t.subscriberId, t.channel, t.eventType, t.status)]
)

export const digestItems = sqliteTable(
  'digest_items',
  {
    digestId: text('digest_id').notNull(),
    eventId: text('event_id').notNull(),
    addedAt: integer('added_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.digestId, t.eventId] })]
)
