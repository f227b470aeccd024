import { randomBytes } from 'node:crypto'
import { and, eq, sql } from 'drizzle-orm'
import type { Db } from '../db/database.ts'
import {
  subscribers,
  webhookEndpoints,
  type EndpointSecret,
  type Preferences,
} from '../db/schema.ts'
import { generateSecret } from '../standard-webhooks/index.ts'

export type Subscriber = typeof subscribers.$inferSelect
export type WebhookEndpoint = typeof webhookEndpoints.$inferSelect

export type SubscriberInput = {
  email?: string | null
  phone?: string | null
  pushTokens?: string[]
  timezone?: string
  quietHours?: { start: string; end: string } | null
  preferences?: Preferences
}

/** How long the previous secret keeps signing after a rotation (both are sent meanwhile). */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000

/** Subscribers, their preferences and their webhook endpoints. */
export function createSubscriberStore(db: Db, now: () => number = Date.now) {
  // The lookups every delivery makes, compiled once on first use (see DeliveryLog).
  let lookups: ReturnType<typeof prepareLookups> | undefined
  function prepareLookups() {
    return {
      subscriber: db
        .select()
        .from(subscribers)
        .where(eq(subscribers.id, sql.placeholder('id')))
        .prepare(),
      endpoint: db
        .select()
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.id, sql.placeholder('id')))
        .prepare(),
    }
  }
  const prepared = () => (lookups ??= prepareLookups())

  return {
    upsert(id: string, input: SubscriberInput): Subscriber {
      const at = now()
      const values = {
        email: input.email ?? null,
        phone: input.phone ?? null,
        pushTokens: input.pushTokens ?? [],
        timezone: input.timezone ?? 'UTC',
        quietStart: input.quietHours?.start ?? null,
        quietEnd: input.quietHours?.end ?? null,
        preferences: input.preferences ?? {},
        updatedAt: at,
      }
      return db
        .insert(subscribers)
        .values({ id, ...values, createdAt: at })
        .onConflictDoUpdate({ target: subscribers.id, set: values })
        .returning()
        .get()
    },
    get(id: string): Subscriber | undefined {
      return prepared().subscriber.get({ id })
    },
    setPreferences(id: string, preferences: Preferences): Subscriber | undefined {
      return db
        .update(subscribers)
        .set({ preferences, updatedAt: now() })
        .where(eq(subscribers.id, id))
        .returning()
        .get()
    },

    addEndpoint(subscriberId: string, url: string, eventTypes: string[] | null): WebhookEndpoint {
      return db
        .insert(webhookEndpoints)
        .values({
          id: `ep_${randomBytes(12).toString('base64url')}`,
          subscriberId,
          url,
          eventTypes,
          secrets: [{ secret: generateSecret() }],
          status: 'enabled',
          createdAt: now(),
        })
        .returning()
        .get()
    },
    endpoints(subscriberId: string): WebhookEndpoint[] {
      return db
        .select()
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.subscriberId, subscriberId))
        .all()
    },
    endpoint(subscriberId: string, id: string): WebhookEndpoint | undefined {
      return db
        .select()
        .from(webhookEndpoints)
        .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.subscriberId, subscriberId)))
        .get()
    },
    endpointById(id: string): WebhookEndpoint | undefined {
      return prepared().endpoint.get({ id })
    },
    /** A new current secret; the previous one keeps signing for ROTATION_OVERLAP_MS. */
    rotateSecret(endpoint: WebhookEndpoint): WebhookEndpoint {
      const at = now()
      const kept = endpoint.secrets
        .filter((s) => s.expiresAt === undefined || s.expiresAt > at)
        .map((s): EndpointSecret => ({
          secret: s.secret,
          expiresAt: s.expiresAt ?? at + ROTATION_OVERLAP_MS,
        }))
      return db
        .update(webhookEndpoints)
        .set({ secrets: [{ secret: generateSecret() }, ...kept] })
        .where(eq(webhookEndpoints.id, endpoint.id))
        .returning()
        .get()
    },
    /** The secrets an attempt signs with now: the current one first, then those still overlapping. */
    signingSecrets(endpoint: WebhookEndpoint): string[] {
      const at = now()
      return endpoint.secrets
        .filter((s) => s.expiresAt === undefined || s.expiresAt > at)
        .map((s) => s.secret)
    },
    setEndpointStatus(id: string, status: 'enabled' | 'disabled', reason: string | null) {
      db.update(webhookEndpoints)
        .set({
          status,
          disabledReason: reason,
          ...(status === 'enabled' && { failingSince: null }),
        })
        .where(eq(webhookEndpoints.id, id))
        .run()
    },
    /** Records a failure; answers since when the endpoint has been failing. */
    endpointFailed(endpoint: WebhookEndpoint): number {
      if (endpoint.failingSince !== null) return endpoint.failingSince
      const at = now()
      db.update(webhookEndpoints)
        .set({ failingSince: at })
        .where(eq(webhookEndpoints.id, endpoint.id))
        .run()
      return at
    },
    endpointSucceeded(endpoint: WebhookEndpoint) {
      if (endpoint.failingSince === null) return
      db.update(webhookEndpoints)
        .set({ failingSince: null })
        .where(eq(webhookEndpoints.id, endpoint.id))
        .run()
    },
    deleteEndpoint(id: string) {
      db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).run()
    },
  }
}

export type SubscriberStore = ReturnType<typeof createSubscriberStore>
