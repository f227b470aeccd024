import { createHash, randomBytes } from 'node:crypto'
import { eq, lt } from 'drizzle-orm'
import type { Channel } from '../channels/channel.ts'
import type { Db } from '../db/database.ts'
import { events, idempotencyKeys } from '../db/schema.ts'
import type { Outbox } from '../outbox/index.ts'

export type TriggerInput = {
  type: string
  recipients: string[]
  data: Record<string, unknown>
  channels: Channel[]
  critical: boolean
}

export type Accepted = {
  id: string
  type: string
  recipients: number
  channels: Channel[]
  critical: boolean
  status: 'accepted'
  acceptedAt: string
}

export type TriggerOutcome =
  | { kind: 'accepted'; status: 202; body: Accepted }
  /** The same key and the same body again: the first response, unchanged. */
  | { kind: 'replayed'; status: number; body: unknown }
  /** The same key with another body (Stripe: an error, never a silent second event). */
  | { kind: 'conflict' }

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` are the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/**
 * Accepting an event is one SQLite transaction: the idempotency record, the event and its outbox
 * message commit together, before the 202 is sent, so an accepted event is never lost (Redis may
 * be down: the relay fans it out later) and a retried request never fans out twice.
 * better-sqlite3 runs the transaction synchronously, so two requests with one key cannot
 * interleave in a process; across processes the key's primary key decides.
 */
export function createTrigger({
  db,
  outbox,
  idempotencyTtlMs,
  now = Date.now,
}: {
  db: Db
  outbox: Outbox
  idempotencyTtlMs: number
  now?: () => number
}) {
  function accept(input: TriggerInput, idempotencyKey: string | undefined): TriggerOutcome {
    const at = now()
    const requestHash = createHash('sha256').update(canonical(input)).digest('base64url')
    // IMMEDIATE: the key is read, then written; taking the write lock first makes two processes
    // with the same key queue up (busy_timeout) instead of failing with SQLITE_BUSY_SNAPSHOT.
    return db.transaction(
      (tx) => {
        if (idempotencyKey !== undefined) {
          const seen = tx
            .select()
            .from(idempotencyKeys)
            .where(eq(idempotencyKeys.key, idempotencyKey))
            .get()
          if (seen && seen.expiresAt > at) {
            if (seen.requestHash !== requestHash) return { kind: 'conflict' } as const
            return {
              kind: 'replayed',
              status: seen.status,
              body: JSON.parse(seen.body) as unknown,
            } as const
          }
          if (seen) tx.delete(idempotencyKeys).where(eq(idempotencyKeys.key, idempotencyKey)).run()
        }
        const id = `evt_${randomBytes(16).toString('base64url')}`
        tx.insert(events)
          .values({
            id,
            type: input.type,
            data: input.data,
            recipients: input.recipients,
            channels: input.channels,
            critical: input.critical,
            acceptedAt: at,
          })
          .run()
        outbox.append('event.accepted', { eventId: id }, at)
        const body: Accepted = {
          id,
          type: input.type,
          recipients: input.recipients.length,
          channels: input.channels,
          critical: input.critical,
          status: 'accepted',
          acceptedAt: new Date(at).toISOString(),
        }
        if (idempotencyKey !== undefined) {
          tx.insert(idempotencyKeys)
            .values({
              key: idempotencyKey,
              requestHash,
              status: 202,
              body: JSON.stringify(body),
              createdAt: at,
              expiresAt: at + idempotencyTtlMs,
            })
            .run()
        }
        return { kind: 'accepted', status: 202, body } as const
      },
      { behavior: 'immediate' }
    )
  }

  return {
    accept,
    /** Forgets keys past their time; answers how many. */
    pruneKeys(): number {
      return db.delete(idempotencyKeys).where(lt(idempotencyKeys.expiresAt, now())).run().changes
    },
    event(id: string) {
      return db.select().from(events).where(eq(events.id, id)).get()
    },
  }
}

export type Trigger = ReturnType<typeof createTrigger>
