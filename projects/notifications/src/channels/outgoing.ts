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

/** A transient provider failure that carries the wait the provider asked for (Retry-After). */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number
  ) {
    super(message)
    this.name = this.constructor.name
  }
}
