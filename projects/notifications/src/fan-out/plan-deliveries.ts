import { randomBytes } from 'node:crypto'
import { and, eq, gt } from 'drizzle-orm'
import type { JobsOptions } from 'bullmq'
import { DIGESTIBLE, INTERRUPTIVE, type Channel } from '../channels/channel.ts'
import type { Db } from '../db/database.ts'
import { digestItems, digests, events } from '../db/schema.ts'
import { deliveryId, type DeliveryLog, type PlannedDelivery } from '../delivery/delivery-log.ts'
import type { ChannelQueues } from '../delivery/queues.ts'
import type { OutboxMessage } from '../outbox/index.ts'
import { quietHoursEnd } from '../quiet-hours/index.ts'
import { accepts, digestWindowMs } from '../subscribers/preferences.ts'
import type { Subscriber, SubscriberStore } from '../subscribers/subscriber-store.ts'

type Job = { channel: Channel; name: 'deliver' | 'digest'; data: object; opts: JobsOptions }

/** Where one subscriber is reached on a channel, or why they cannot be. */
function targetsOf(
  channel: Channel,
  subscriber: Subscriber,
  eventType: string,
  store: SubscriberStore
): { target: string; unreachable?: string }[] {
  switch (channel) {
    case 'email':
      return subscriber.email
        ? [{ target: subscriber.email }]
        : [{ target: '-', unreachable: 'no_address' }]
    case 'sms':
      return subscriber.phone
        ? [{ target: subscriber.phone }]
        : [{ target: '-', unreachable: 'no_address' }]
    case 'push':
      return subscriber.pushTokens.length > 0
        ? subscriber.pushTokens.map((target) => ({ target }))
        : [{ target: '-', unreachable: 'no_address' }]
    case 'in_app':
      return [{ target: 'inbox' }]
    case 'webhook': {
      const endpoints = store
        .endpoints(subscriber.id)
        .filter((e) => e.eventTypes === null || e.eventTypes.includes(eventType))
      if (endpoints.length === 0) return [{ target: '-', unreachable: 'no_endpoint' }]
      return endpoints.map((e) => ({
        target: e.id,
        ...(e.status === 'disabled' && { unreachable: 'endpoint_disabled' }),
      }))
    }
  }
}

/**
 * The fan-out: turns each accepted event (an outbox message) into one delivery per recipient,
 * channel and target, decided against the subscriber's preferences (critical events bypass
 * them), quiet hours in their time zone (critical bypasses) and digest windows; records every
 * delivery and why in the log, in one transaction; then adds one job per queued delivery to its
 * channel's queue, the job id being the delivery id. Planning an event again (Redis refused
 * the jobs, or the relay died before marking the message) finds the same rows and adds the same
 * job ids: BullMQ ignores a job id it holds, and a worker skips a delivery already sent, failed
 * or suppressed for good, so no provider is called twice.
 *
 * Throws when Redis refuses the jobs, so the relay keeps the messages and tries again.
 */
export function createFanOut({
  db,
  log,
  subscribers,
  queues,
  now = Date.now,
}: {
  db: Db
  log: DeliveryLog
  subscribers: SubscriberStore
  queues: ChannelQueues
  now?: () => number
}) {
  /** The open digest of this key, or a new one closing a window from now; answers its id. */
  function joinDigest(
    tx: Db,
    subscriberId: string,
    channel: Channel,
    eventType: string,
    eventId: string,
    windowMs: number,
    jobs: Job[]
  ) {
    const at = now()
    let digest = tx
      .select()
      .from(digests)
      .where(
        and(
          eq(digests.subscriberId, subscriberId),
          eq(digests.channel, channel),
          eq(digests.eventType, eventType),
          eq(digests.status, 'open'),
          gt(digests.closesAt, at)
        )
      )
      .get()
    if (!digest) {
      digest = {
        id: `dig_${randomBytes(12).toString('base64url')}`,
        subscriberId,
        channel,
        eventType,
        openedAt: at,
        closesAt: at + windowMs,
        status: 'open' as const,
      }
      tx.insert(digests).values(digest).run()
    }
    tx.insert(digestItems)
      .values({ digestId: digest.id, eventId, addedAt: at })
      .onConflictDoNothing()
      .run()
    // Added for every event of the window: the job id makes all but the first a no-op.
    jobs.push({
      channel,
      name: 'digest',
      data: { digestId: digest.id },
      opts: { jobId: digest.id, delay: Math.max(0, digest.closesAt - at) },
    })
    return digest.id
  }

  function planEvent(tx: Db, eventId: string, jobs: Job[]) {
    const event = tx.select().from(events).where(eq(events.id, eventId)).get()
    if (!event) return
    const at = new Date(now())
    const planned: (PlannedDelivery & { delay?: number })[] = []
    for (const subscriberId of event.recipients) {
      const subscriber = subscribers.get(subscriberId)
      for (const channel of event.channels as Channel[]) {
        if (!subscriber) {
          planned.push({
            eventId,
            channel,
            subscriberId,
            target: '-',
            status: 'suppressed',
            reason: 'unknown_subscriber',
          })
          continue
        }
        for (const { target, unreachable } of targetsOf(
          channel,
          subscriber,
          event.type,
          subscribers
        )) {
          const base = { eventId, channel, subscriberId, target }
          if (unreachable) {
            planned.push({ ...base, status: 'suppressed', reason: unreachable })
          } else if (!event.critical && !accepts(subscriber.preferences, channel, event.type)) {
            planned.push({ ...base, status: 'suppressed', reason: 'preference' })
          } else {
            const windowMs =
              event.critical || !DIGESTIBLE.has(channel)
                ? undefined
                : digestWindowMs(subscriber.preferences, event.type)
            if (windowMs !== undefined) {
              const digestId = joinDigest(
                tx,
                subscriberId,
                channel,
                event.type,
                eventId,
                windowMs,
                jobs
              )
              planned.push({ ...base, status: 'suppressed', reason: 'digest', detail: digestId })
              continue
            }
            const quietUntil =
              !event.critical &&
              INTERRUPTIVE.has(channel) &&
              subscriber.quietStart &&
              subscriber.quietEnd
                ? quietHoursEnd(at, {
                    timezone: subscriber.timezone,
                    start: subscriber.quietStart,
                    end: subscriber.quietEnd,
                  })
                : null
            if (quietUntil) {
              planned.push({
                ...base,
                status: 'suppressed',
                reason: 'quiet_hours',
                detail: `until ${quietUntil.toISOString()}`,
                delay: quietUntil.getTime() - at.getTime(),
              })
            } else {
              planned.push({ ...base, status: 'queued' })
            }
          }
        }
      }
    }
    log.plan(planned)
    for (const p of planned) {
      if (p.status !== 'queued' && p.reason !== 'quiet_hours') continue
      const id = deliveryId(p.eventId, p.channel, p.subscriberId, p.target)
      jobs.push({
        channel: p.channel as Channel,
        name: 'deliver',
        data: { deliveryId: id },
        opts: { jobId: id, ...(p.delay && { delay: p.delay }) },
      })
    }
  }

  return async function fanOut(messages: OutboxMessage[]): Promise<void> {
    const jobs: Job[] = []
    // IMMEDIATE: it reads before it writes, and a worker process may commit in between; a
    // deferred transaction would then fail with SQLITE_BUSY_SNAPSHOT instead of waiting.
    db.transaction(
      (tx) => {
        for (const message of messages)
          planEvent(tx, (message.payload as { eventId: string }).eventId, jobs)
      },
      { behavior: 'immediate' }
    )
    const byChannel = new Map<Channel, Job[]>()
    for (const job of jobs) byChannel.set(job.channel, [...(byChannel.get(job.channel) ?? []), job])
    await Promise.all(
      [...byChannel].map(([channel, list]) =>
        queues.byChannel[channel].addBulk(
          list.map(({ name, data, opts }) => ({ name, data: data as never, opts }))
        )
      )
    )
  }
}
