import { createHash } from 'node:crypto'
import { and, asc, eq, inArray, isNull, like, ne, not, sql } from 'drizzle-orm'
import type { Db } from '../db/database.ts'
import { deliveries, deliveryLog, type DeliveryStatus } from '../db/schema.ts'

export type Delivery = typeof deliveries.$inferSelect
export type LogEntry = typeof deliveryLog.$inferSelect

/**
 * The id of one event's message to one recipient on one channel: a hash of the four, so planning
 * the same event twice (a relay that republished) lands on the same row and the same BullMQ job,
 * and every provider sees the same idempotency key. No ':' (BullMQ job ids) and no '.' (webhook-id).
 */
export function deliveryId(eventId: string, channel: string, subscriberId: string, target: string) {
  const digest = createHash('sha256').update(`${eventId}\n${channel}\n${subscriberId}\n${target}`)
  return `dlv_${digest.digest('base64url').slice(0, 24)}`
}

export type PlannedDelivery = {
  eventId: string
  channel: string
  subscriberId: string
  target: string
  status: DeliveryStatus
  reason?: string
  detail?: string
}

/**
 * The delivery log: the current state of every delivery (queued, sent, failed, suppressed, with a
 * reason) and every step that led there. The API process plans deliveries; the worker processes
 * record attempts; both write the same SQLite file.
 */
export function createDeliveryLog(db: Db, now: () => number = Date.now) {
  /**
   * The statements every delivery runs (plan it, read it, pin it, mark it sent), compiled once:
   * built with drizzle and `.prepare()`d with placeholders, instead of built and compiled by
   * SQLite on each call. A worker's profile put that building and compiling at about a quarter of its busy time.
   * Prepared on first use: the tables exist by then.
   */
  let hot: ReturnType<typeof prepareHot> | undefined
  function prepareHot() {
    const p = sql.placeholder
    return {
      get: db
        .select()
        .from(deliveries)
        .where(eq(deliveries.id, p('id')))
        .prepare(),
      pinFresh: db
        .update(deliveries)
        .set({ pinnedProvider: sql`${p('value')}` })
        .where(and(eq(deliveries.id, p('id')), isNull(deliveries.pinnedProvider)))
        .prepare(),
      pinSame: db
        .update(deliveries)
        .set({ pinnedProvider: sql`${p('value')}` })
        .where(and(eq(deliveries.id, p('id')), like(deliveries.pinnedProvider, p('pattern'))))
        .prepare(),
      markSent: db
        .update(deliveries)
        .set({
          status: 'sent',
          reason: null,
          provider: sql`${p('provider')}`,
          attempts: sql`${p('attempts')}`,
          updatedAt: sql`${p('at')}`,
        })
        .where(and(eq(deliveries.id, p('id')), ne(deliveries.status, 'sent')))
        .prepare(),
      logSent: db
        .insert(deliveryLog)
        .values({
          deliveryId: sql`${p('deliveryId')}`,
          eventId: sql`${p('eventId')}`,
          at: sql`${p('at')}`,
          status: 'sent',
          reason: null,
          provider: sql`${p('provider')}`,
          attempt: sql`${p('attempts')}`,
          detail: sql`${p('detail')}`,
        })
        .prepare(),
      // The API process plans every recipient's deliveries of an event with these two.
      planDelivery: db
        .insert(deliveries)
        .values({
          id: sql`${p('id')}`,
          eventId: sql`${p('eventId')}`,
          channel: sql`${p('channel')}`,
          subscriberId: sql`${p('subscriberId')}`,
          target: sql`${p('target')}`,
          status: sql`${p('status')}`,
          reason: sql`${p('reason')}`,
          createdAt: sql`${p('at')}`,
          updatedAt: sql`${p('at')}`,
        })
        .onConflictDoNothing()
        .prepare(),
      logPlanned: db
        .insert(deliveryLog)
        .values({
          deliveryId: sql`${p('deliveryId')}`,
          eventId: sql`${p('eventId')}`,
          at: sql`${p('at')}`,
          status: sql`${p('status')}`,
          reason: sql`${p('reason')}`,
          detail: sql`${p('detail')}`,
        })
        .prepare(),
    }
  }
  const statements = () => (hot ??= prepareHot())

  function step(
    delivery: Pick<Delivery, 'id' | 'eventId'>,
    entry: Omit<LogEntry, 'id' | 'deliveryId' | 'eventId' | 'at'>
  ) {
    db.insert(deliveryLog)
      .values({ deliveryId: delivery.id, eventId: delivery.eventId, at: now(), ...entry })
      .run()
  }

  /**
   * Moves a delivery to a new state and logs the step, unless it is already settled: a sent
   * delivery stays sent and a failed one failed (only a replay reopens it, `from: 'failed'`).
   * A job may run twice at once (its worker stalled and another took it over), so a late
   * outcome must never undo the first. Answers whether the state changed.
   */
  function update(
    delivery: Delivery,
    change: {
      status: DeliveryStatus
      reason?: string | null
      provider?: string | null
      attempts?: number
    },
    detail?: string,
    { from = 'pending' }: { from?: 'pending' | 'failed' } = {}
  ): boolean {
    const at = now()
    const settled =
      from === 'failed'
        ? ne(deliveries.status, 'failed')
        : inArray(deliveries.status, ['sent', 'failed'])
    return db.transaction((tx) => {
      const changed = tx
        .update(deliveries)
        .set({
          status: change.status,
          reason: change.reason ?? null,
          ...(change.provider !== undefined && { provider: change.provider }),
          ...(change.attempts !== undefined && { attempts: change.attempts }),
          updatedAt: at,
        })
        .where(
          and(
            eq(deliveries.id, delivery.id),
            change.status === 'sent' && from === 'pending'
              ? ne(deliveries.status, 'sent')
              : not(settled)
          )
        )
        .run().changes
      if (changed === 0) return false
      tx.insert(deliveryLog)
        .values({
          deliveryId: delivery.id,
          eventId: delivery.eventId,
          at,
          status: change.status,
          reason: change.reason ?? null,
          provider: change.provider ?? null,
          attempt: change.attempts ?? null,
          detail: detail ?? null,
        })
        .run()
      return true
    })
  }

  return {
    /**
     * Records planned deliveries; a delivery planned before (same id) is left as it is. Answers
     * the ids that were new. Run it inside the caller's `db.transaction`: the prepared
     * statements run on that same connection.
     */
    plan(planned: PlannedDelivery[]): string[] {
      const { planDelivery, logPlanned } = statements()
      const at = now()
      const created: string[] = []
      for (const p of planned) {
        const id = deliveryId(p.eventId, p.channel, p.subscriberId, p.target)
        const inserted = planDelivery.run({
          id,
          eventId: p.eventId,
          channel: p.channel,
          subscriberId: p.subscriberId,
          target: p.target,
          status: p.status,
          reason: p.reason ?? null,
          at,
        })
        if (inserted.changes === 0) continue
        created.push(id)
        logPlanned.run({
          deliveryId: id,
          eventId: p.eventId,
          at,
          status: p.status,
          reason: p.reason ?? null,
          detail: p.detail ?? null,
        })
      }
      return created
    },
    get(id: string): Delivery | undefined {
      return statements().get.get({ id })
    },
    /** Sent, unless it was already: what `update` does for 'sent', on the prepared statements. */
    sent(delivery: Delivery, provider: string, attempts: number, detail?: string) {
      const { markSent, logSent } = statements()
      const at = now()
      db.transaction(() => {
        if (markSent.run({ id: delivery.id, provider, attempts, at }).changes === 0) return
        logSent.run({
          deliveryId: delivery.id,
          eventId: delivery.eventId,
          at,
          provider,
          attempts,
          detail: detail ?? null,
        })
      })
    },
    /** A failed attempt: `final` marks the delivery failed, otherwise it stays queued for a retry. */
    attemptFailed(
      delivery: Delivery,
      {
        reason,
        provider,
        attempts,
        final,
        detail,
      }: {
        reason: string
        provider?: string | null
        attempts: number
        final: boolean
        detail?: string
      }
    ) {
      update(
        delivery,
        { status: final ? 'failed' : 'queued', reason, provider: provider ?? null, attempts },
        detail
      )
    },
    /** Held back: for good (preference) or until later (quiet hours, breaker open). */
    suppressed(delivery: Delivery, reason: string, detail?: string) {
      update(delivery, { status: 'suppressed', reason }, detail)
    },
    /**
     * Pins the delivery to `provider` for the attempt `token` (compare-and-set), before the call:
     * 'fresh' when nothing was pinned; 'same' when it was pinned to this provider already (by
     * an earlier attempt, perhaps still running: asking the same provider again is safe, it
     * deduplicates); false when another provider holds it: do not call this one.
     */
    pin(delivery: Delivery, provider: string, token: string): 'fresh' | 'same' | false {
      const { pinFresh, pinSame } = statements()
      const value = `${provider}#${token}`
      if (pinFresh.run({ id: delivery.id, value }).changes === 1) return 'fresh'
      const same = pinSame.run({ id: delivery.id, value, pattern: `${provider}#%` }).changes
      return same === 1 ? 'same' : false
    },
    /**
     * Lifts a pin this attempt took fresh, after the provider refused for sure. A pin taken over
     * from another attempt stays: that attempt may still be in flight at the provider.
     */
    unpin(delivery: Delivery, provider: string, token: string) {
      db.update(deliveries)
        .set({ pinnedProvider: null })
        .where(
          and(eq(deliveries.id, delivery.id), eq(deliveries.pinnedProvider, `${provider}#${token}`))
        )
        .run()
    },
    /** Back in the queue (a replay from the dead-letter queue). */
    requeued(delivery: Delivery, reason: string) {
      update(delivery, { status: 'queued', reason }, undefined, { from: 'failed' })
    },
    note(delivery: Delivery, status: DeliveryStatus, reason: string, detail?: string) {
      step(delivery, { status, reason, provider: null, attempt: null, detail: detail ?? null })
    },
    forEvent(eventId: string) {
      return {
        deliveries: db
          .select()
          .from(deliveries)
          .where(eq(deliveries.eventId, eventId))
          .orderBy(asc(deliveries.channel), asc(deliveries.subscriberId), asc(deliveries.target))
          .all(),
        timeline: db
          .select()
          .from(deliveryLog)
          .where(eq(deliveryLog.eventId, eventId))
          .orderBy(asc(deliveryLog.id))
          .all(),
      }
    },
    /** Deliveries of an event by status (tests, the benchmark). */
    countByStatus(eventId?: string): Record<string, number> {
      const rows = db
        .select({ status: deliveries.status, count: sql<number>`count(*)` })
        .from(deliveries)
        .where(eventId ? eq(deliveries.eventId, eventId) : undefined)
        .groupBy(deliveries.status)
        .all()
      return Object.fromEntries(rows.map((r) => [r.status, r.count]))
    },
    byChannelAndStatus(channel: string, status: DeliveryStatus) {
      return db
        .select()
        .from(deliveries)
        .where(and(eq(deliveries.channel, channel), eq(deliveries.status, status)))
        .all()
    },
  }
}

export type DeliveryLog = ReturnType<typeof createDeliveryLog>
