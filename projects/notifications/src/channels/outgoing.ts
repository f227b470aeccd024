import type { Channel } from './channel.ts'

/** One rendered message on its way to a provider. */
export type Outgoing = {
  /** The delivery id: the idempotency key every provider deduplicates on. */
  key: string
  channel: Channel
  /** Address, phone number, push token, or the subscriber id for the inbox. */
  to: string
  /** The channel's rendered template fields (subject/text, text, title/body). */
  content: Record<string, string>
  eventId: string
  eventType: string
  data: Record<string, unknown>
}

/** A provider's answer: its message id, if it gave one. */
export type Receipt = { id?: string }

/**
 * A transient provider failure, with the wait the provider asked for (Retry-After). `ambiguous`
 * when the provider may have applied the message anyway (a timeout): the ladder then retries the
 * same provider rather than hand the message to the next.
 */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    readonly ambiguous = false
  ) {
    super(message)
    this.name = this.constructor.name
  }
}
