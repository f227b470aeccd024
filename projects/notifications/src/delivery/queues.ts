import { createDeadLetterQueue, type DeadLetterQueue } from '@kit/dead-letter'
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq'
import { CHANNELS, type Channel } from '../channels/channel.ts'
import type { Config } from '../config.ts'

/** What a channel job carries: ids only, so no address or message text sits in Redis. */
export type DeliveryJob = { deliveryId: string }
export type DigestJob = { digestId: string }

/**
 * One queue per channel, each under its own hash tag (`notifications:{email}:…`): on a Redis
 * Cluster a queue's keys share a slot, as BullMQ's Lua needs, and the channels spread over nodes.
 */
export function queueName(channel: Channel): string {
  return `{${channel}}`
}

/** The BullMQ backoff types the workers' `backoffStrategy` implements. */
export const BACKOFF = { webhook: 'standard-webhooks', provider: 'provider' } as const

/** Attempts and backoff of a channel's deliveries. */
export function jobOptions(channel: Channel, config: Config): JobsOptions {
  const keep = {
    // Finished jobs go after a while: the delivery log in SQLite is the record, not Redis.
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 7 * 86_400 },
  }
  if (channel === 'webhook') {
    return {
      ...keep,
      attempts: config.WEBHOOK_RETRY_SCHEDULE.length + 1,
      backoff: { type: BACKOFF.webhook },
    }
  }
  return { ...keep, attempts: config.CHANNEL_ATTEMPTS, backoff: { type: BACKOFF.provider } }
}

export type ChannelQueues = {
  readonly byChannel: Record<Channel, Queue<DeliveryJob | DigestJob>>
  close(): Promise<void>
}

/**
 * The producer side of the channel queues (the API process's relay). The connection should fail
 * fast (no offline queue): a relay that cannot add keeps the events in the outbox and retries.
 */
export function createChannelQueues({
  connection,
  prefix,
  config,
}: {
  connection: ConnectionOptions
  prefix: string
  config: Config
}): ChannelQueues {
  const byChannel = Object.fromEntries(
    CHANNELS.map((channel) => [
      channel,
      new Queue<DeliveryJob | DigestJob>(queueName(channel), {
        connection,
        prefix,
        defaultJobOptions: jobOptions(channel, config),
      }),
    ])
  ) as Record<Channel, Queue<DeliveryJob | DigestJob>>
  for (const queue of Object.values(byChannel)) queue.on('error', () => undefined)
  return {
    byChannel,
    async close() {
      await Promise.all(Object.values(byChannel).map((queue) => queue.close()))
    },
  }
}

/** A dead-letter queue per channel queue (`{email}-dead`: the same hash tag as its source). */
export type DeadLetters = Record<Channel, DeadLetterQueue>

/**
 * The dead-letter queues of the channel queues (the task queue's `dead-letter` pattern, copied):
 * a delivery that fails for good moves from its queue's failed set to its own queue, where it
 * waits to be replayed.
 */
export function createDeadLetters({
  queues,
  connection,
  prefix,
}: {
  queues: ChannelQueues
  connection: ConnectionOptions
  prefix: string
}): DeadLetters {
  return Object.fromEntries(
    CHANNELS.map((channel) => [
      channel,
      createDeadLetterQueue({
        source: queues.byChannel[channel],
        connection,
        queueOptions: { prefix },
      }),
    ])
  ) as DeadLetters
}
