import { randomBytes } from 'node:crypto'
import { attachDeadLetter } from '@kit/dead-letter'
import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq'
import { and, eq, sql } from 'drizzle-orm'
import type { Logger } from 'pino'
import { CHANNELS, type Channel } from '../channels/channel.ts'
import { ProviderError, type Outgoing } from '../channels/outgoing.ts'
import type { Config } from '../config.ts'
import type { Db } from '../db/database.ts'
import type { GroupCommit } from '../db/group-commit.ts'
import { digestItems, digests, events } from '../db/schema.ts'
import {
  AllProvidersOpenError,
  LadderExhaustedError,
  PermanentError,
} from '../provider-ladder/index.ts'
import { createRetrySchedule, sendWebhook } from '../standard-webhooks/index.ts'
import type { SubscriberStore } from '../subscribers/subscriber-store.ts'
import type { TemplatedChannel, Templates } from '../templates/templates.ts'
import { deliveryId, type Delivery, type DeliveryLog } from './delivery-log.ts'
import {
  BACKOFF,
  queueName,
  type ChannelQueues,
  type DeadLetters,
  type DeliveryJob,
  type DigestJob,
} from './queues.ts'
import type { Senders } from './senders.ts'

/** A failed attempt to try again, after at least `retryAfterMs` when the other side said so. */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number
  ) {
    super(message)
    this.name = this.constructor.name
  }
}

/** Suppressions that only delay a delivery; the others are final. */
const TEMPORARY = new Set(['quiet_hours', 'breaker_open'])

function pending(delivery: Delivery): boolean {
  return (
    delivery.status === 'queued' ||
    (delivery.status === 'suppressed' && TEMPORARY.has(delivery.reason ?? ''))
  )
}

export type DeliveryWorkerDeps = {
  db: Db
  log: DeliveryLog
  /** Carries the writes every delivery makes (pin, sent): one transaction per turn, not per write. */
  commit: GroupCommit
  subscribers: SubscriberStore
  templates: Templates
  senders: Senders
  /** Where deliveries that failed for good go (one dead-letter queue per channel). */
  deadLetters: DeadLetters
  /** To enqueue a closed digest's deliveries. */
  queues: ChannelQueues
  config: Config
  connection: ConnectionOptions
  prefix: string
  logger: Logger
  /** Called after each attempt's outcome (metrics). */
  onOutcome?: (
    channel: Channel,
    outcome: 'sent' | 'retry' | 'failed' | 'deferred' | 'skipped',
    provider?: string
  ) => void
  now?: () => number
}

/**
 * The consumer side: one BullMQ Worker per channel queue, each with its own concurrency (the
 * bulkheads: a slow SMS provider fills the SMS worker's slots, never email's) and optional rate
 * limit (the per-channel throttle). A job carries a delivery id; the processor reads the
 * delivery, skips it if it is no longer pending (a redelivered job after a crash, a replay of a
 * job already sent), renders it, sends it through the channel's provider ladder or as a Standard
 * Webhook, and records the outcome in the delivery log. A job that will not be retried again is
 * buried in the dead-letter queue.
 */
export function createDeliveryWorkers(deps: DeliveryWorkerDeps) {
  const {
    db,
    log,
    commit,
    subscribers,
    templates,
    senders,
    deadLetters,
    queues,
    config,
    connection,
    prefix,
    logger,
    onOutcome,
    now = Date.now,
  } = deps
  // Every delivery reads its event: compiled once (see DeliveryLog's prepared statements).
  let eventQuery: ReturnType<typeof prepareEventQuery> | undefined
  function prepareEventQuery() {
    return db
      .select()
      .from(events)
      .where(eq(events.id, sql.placeholder('id')))
      .prepare()
  }
  const eventById = (id: string) => (eventQuery ??= prepareEventQuery()).get({ id })

  const webhookSchedule = createRetrySchedule(config.WEBHOOK_RETRY_SCHEDULE, {
    jitter: config.WEBHOOK_RETRY_JITTER,
  })

  function backoffStrategy(attemptsMade: number, type?: string, error?: Error): number {
    const retryAfterMs =
      error instanceof RetryableError || error instanceof ProviderError
        ? error.retryAfterMs
        : undefined
    if (type === BACKOFF.webhook)
      return webhookSchedule.delayBefore(attemptsMade + 1, { retryAfterMs }) ?? -1
    // Exponential, capped at an hour, with "equal jitter" (half fixed, half random).
    const base = Math.min(config.RETRY_BASE_MS * 2 ** (attemptsMade - 1), 3_600_000)
    return Math.max(Math.round(base / 2 + (Math.random() * base) / 2), retryAfterMs ?? 0)
  }

  /** Marks the delivery failed for good; the job fails too, and moves to the dead letters. */
  function fail(
    delivery: Delivery,
    reason: string,
    attempt: number,
    provider: string | null,
    detail?: string
  ): never {
    log.attemptFailed(delivery, {
      reason,
      provider,
      attempts: attempt,
      final: true,
      ...(detail !== undefined && { detail }),
    })
    onOutcome?.(delivery.channel as Channel, 'failed', provider ?? undefined)
    throw new UnrecoverableError(reason)
  }

  /** Renders what the delivery says: its event's template, or a digest of its window's events. */
  function render(delivery: Delivery): Outgoing | undefined {
    const subscriber = subscribers.get(delivery.subscriberId)
    if (!subscriber) return undefined
    const channel = delivery.channel as TemplatedChannel
    const base = {
      key: delivery.id,
      channel: delivery.channel as Channel,
      to: delivery.channel === 'in_app' ? subscriber.id : delivery.target,
    }
    const subscriberView = { id: subscriber.id, email: subscriber.email, phone: subscriber.phone }
    if (delivery.eventId.startsWith('dig_')) {
      const digest = db.select().from(digests).where(eq(digests.id, delivery.eventId)).get()
      if (!digest) return undefined
      const items = db
        .select({ id: events.id, type: events.type, data: events.data })
        .from(digestItems)
        .innerJoin(events, eq(events.id, digestItems.eventId))
        .where(eq(digestItems.digestId, digest.id))
        .orderBy(digestItems.addedAt)
        .all()
      return {
        ...base,
        eventId: digest.id,
        eventType: digest.eventType,
        data: { digest: digest.id, events: items.map((i) => i.id) },
        content: templates.renderDigest(digest.eventType, channel, {
          eventType: digest.eventType,
          items,
          subscriber: subscriberView,
        }),
      }
    }
    const event = eventById(delivery.eventId)
    if (!event) return undefined
    return {
      ...base,
      eventId: event.id,
      eventType: event.type,
      data: event.data,
      content: templates.render(event.type, channel, {
        event: { id: event.id, type: event.type, data: event.data },
        subscriber: subscriberView,
      }),
    }
  }

  async function deliverWebhook(
    job: Job,
    delivery: Delivery,
    attempt: number,
    final: boolean
  ): Promise<string> {
    const endpoint = subscribers.endpointById(delivery.target)
    if (!endpoint || endpoint.status === 'disabled') {
      log.suppressed(delivery, 'endpoint_disabled', endpoint?.disabledReason ?? 'endpoint deleted')
      onOutcome?.('webhook', 'skipped')
      return 'endpoint_disabled'
    }
    const event = eventById(delivery.eventId)
    if (!event) return fail(delivery, 'event_missing', attempt, null)
    // The spec's recommended payload; the body is serialised once and signed as sent.
    const body = JSON.stringify({
      type: event.type,
      timestamp: new Date(event.acceptedAt).toISOString(),
      data: event.data,
    })
    const result = await sendWebhook({
      url: endpoint.url,
      id: delivery.id,
      body,
      secrets: subscribers.signingSecrets(endpoint),
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      agents: senders.webhookAgents,
      now: now(),
    })
    const detail = `${result.status !== undefined ? `HTTP ${result.status}, ` : ''}${result.durationMs} ms`
    switch (result.kind) {
      case 'delivered':
        await commit(() => {
          subscribers.endpointSucceeded(endpoint)
          log.sent(delivery, 'webhook', attempt, detail)
        })
        onOutcome?.('webhook', 'sent', 'webhook')
        return 'sent'
      case 'disable':
        subscribers.setEndpointStatus(endpoint.id, 'disabled', 'gone (HTTP 410)')
        return fail(delivery, result.reason, attempt, 'webhook', `${detail}; endpoint disabled`)
      case 'abort':
        return fail(delivery, result.reason, attempt, 'webhook', detail)
      case 'retry': {
        const failingSince = subscribers.endpointFailed(endpoint)
        if (now() - failingSince >= config.WEBHOOK_DISABLE_AFTER_MS) {
          subscribers.setEndpointStatus(endpoint.id, 'disabled', 'persistent failure')
          return fail(
            delivery,
            result.reason,
            attempt,
            'webhook',
            `${detail}; failing since ${new Date(failingSince).toISOString()}, endpoint disabled`
          )
        }
        if (final)
          return fail(delivery, result.reason, attempt, 'webhook', `${detail}; retries exhausted`)
        log.attemptFailed(delivery, {
          reason: result.reason,
          provider: 'webhook',
          attempts: attempt,
          final: false,
          detail,
        })
        onOutcome?.('webhook', 'retry', 'webhook')
        throw new RetryableError(result.reason, result.retryAfterMs)
      }
    }
  }

  async function deliver(job: Job<DeliveryJob>, token: string | undefined): Promise<string> {
    const delivery = log.get(job.data.deliveryId)
    if (!delivery || !pending(delivery)) {
      onOutcome?.((delivery?.channel ?? 'email') as Channel, 'skipped')
      return 'skipped'
    }
    const attempt = job.attemptsMade + 1
    const final = attempt >= (job.opts.attempts ?? 1)
    if (delivery.channel === 'webhook') return deliverWebhook(job, delivery, attempt, final)

    const message = render(delivery)
    if (!message) return fail(delivery, 'event_missing', attempt, null)
    const channel = delivery.channel as Exclude<Channel, 'webhook'>
    // This attempt's pins (see DeliveryLog.pin): only those it took fresh may be lifted.
    const attemptToken = randomBytes(6).toString('base64url')
    const freshPins = new Set<string>()
    try {
      const { provider, failed } = await senders.ladders[channel].send(message, {
        ...(delivery.pinnedProvider && { only: delivery.pinnedProvider.split('#')[0]! }),
        // Write-ahead: the provider is pinned before it is called, so an attempt that dies
        // with this process (SIGKILL mid-call) is retried there only; a sure refusal unpins.
        beforeCall: async (provider) => {
          const pinned = await commit(() => log.pin(delivery, provider, attemptToken))
          if (pinned === 'fresh') freshPins.add(provider)
          return pinned !== false
        },
        refused: (provider) => {
          if (freshPins.has(provider)) log.unpin(delivery, provider, attemptToken)
        },
      })
      await commit(() => {
        for (const f of failed)
          log.note(delivery, 'queued', 'provider_failed', `${f.provider}: ${String(f.error)}`)
        log.sent(
          delivery,
          provider,
          attempt,
          failed.length > 0
            ? `after failover from ${failed.map((f) => f.provider).join(', ')}`
            : undefined
        )
      })
      onOutcome?.(channel, 'sent', provider)
      return 'sent'
    } catch (error) {
      if (error instanceof AllProvidersOpenError) {
        // Not an attempt: nothing was called. The job waits until a breaker may let a probe
        // through, without spending one of its attempts (DelayedError).
        log.suppressed(delivery, 'breaker_open', `until ${new Date(error.retryAt).toISOString()}`)
        onOutcome?.(channel, 'deferred')
        await job.moveToDelayed(error.retryAt, token)
        throw new DelayedError()
      }
      if (error instanceof PermanentError)
        return fail(delivery, 'rejected', attempt, null, error.message)
      const detail = error instanceof LadderExhaustedError ? error.message : String(error)
      const lastProvider =
        error instanceof LadderExhaustedError ? (error.errors.at(-1)?.provider ?? null) : null
      if (final) return fail(delivery, 'retries_exhausted', attempt, lastProvider, detail)
      log.attemptFailed(delivery, {
        reason: 'provider_failed',
        provider: lastProvider,
        attempts: attempt,
        final: false,
        detail,
      })
      onOutcome?.(channel, 'retry', lastProvider ?? undefined)
      const retryAfter =
        error instanceof LadderExhaustedError
          ? Math.max(
              0,
              ...error.errors.map((e) =>
                e.error instanceof ProviderError ? (e.error.retryAfterMs ?? 0) : 0
              )
            )
          : undefined
      throw new RetryableError(detail, retryAfter)
    }
  }

  /** A digest window closed: one delivery for everything it gathered, sent as any other. */
  async function closeDigest(job: Job<DigestJob>, channel: Channel): Promise<string> {
    const digest = db
      .select()
      .from(digests)
      .where(and(eq(digests.id, job.data.digestId)))
      .get()
    const subscriber = digest && subscribers.get(digest.subscriberId)
    if (!digest || !subscriber) return 'skipped'
    const targets =
      channel === 'email'
        ? [subscriber.email]
        : channel === 'sms'
          ? [subscriber.phone]
          : channel === 'push'
            ? subscriber.pushTokens
            : ['inbox']
    const planned = targets.filter((t): t is string => Boolean(t))
    db.transaction((tx) => {
      tx.update(digests).set({ status: 'closed' }).where(eq(digests.id, digest.id)).run()
      log.plan(
        planned.map((target) => ({
          eventId: digest.id,
          channel,
          subscriberId: subscriber.id,
          target,
          status: 'queued' as const,
        }))
      )
    })
    // If this add fails the digest job is retried: the rows exist, the job ids are the same.
    await queues.byChannel[channel].addBulk(
      planned.map((target) => {
        const id = deliveryId(digest.id, channel, subscriber.id, target)
        return { name: 'deliver', data: { deliveryId: id }, opts: { jobId: id } }
      })
    )
    return 'digest_closed'
  }

  const stops: (() => void)[] = []
  const workers = CHANNELS.map((channel) => {
    const worker = new Worker<DeliveryJob | DigestJob, string>(
      queueName(channel),
      async (job, token) =>
        job.name === 'digest'
          ? closeDigest(job as Job<DigestJob>, channel)
          : deliver(job as Job<DeliveryJob>, token),
      {
        connection,
        prefix,
        concurrency: config.CHANNEL_CONCURRENCY[channel],
        ...(config.CHANNEL_THROTTLE[channel] && { limiter: config.CHANNEL_THROTTLE[channel] }),
        lockDuration: config.WORKER_LOCK_MS,
        stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
        // A job whose worker was killed runs again; only after several such crashes is it failed.
        maxStalledCount: 5,
        settings: { backoffStrategy },
        name: `${channel}-${process.pid}-${randomBytes(3).toString('hex')}`,
      }
    )
    worker.on('error', (err) => logger.warn({ err, channel }, 'worker error'))
    worker.on('failed', (job, err) => {
      // Stalled too often (its worker kept dying): the processor never saw it fail, so bury it here.
      if (job && job.name === 'deliver' && /stalled more than allowable limit/.test(err.message)) {
        const delivery = log.get((job.data as DeliveryJob).deliveryId)
        if (delivery && pending(delivery))
          log.attemptFailed(delivery, {
            reason: 'stalled',
            attempts: job.attemptsMade,
            final: true,
          })
      }
    })
    // A job that fails for good (UnrecoverableError, attempts spent, stalled too often) moves to
    // its channel's dead-letter queue; a sweep finishes moves a crash interrupted.
    stops.push(
      attachDeadLetter(worker, deadLetters[channel], {
        onError: (err) =>
          logger.warn({ err, channel }, 'dead-letter move failed; the sweep retries'),
      })
    )
    return worker
  })

  return {
    workers,
    async waitUntilReady() {
      await Promise.all(workers.map((w) => w.waitUntilReady()))
    },
    async close(force = false) {
      for (const stop of stops) stop()
      await Promise.all(workers.map((w) => w.close(force)))
    },
  }
}

export type DeliveryWorkers = ReturnType<typeof createDeliveryWorkers>
