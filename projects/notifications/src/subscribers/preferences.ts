import type { Channel } from '../channels/channel.ts'
import type { Preferences } from '../db/schema.ts'

/**
 * Whether a subscriber accepts `eventType` on `channel`: a per-event-type choice wins over the
 * per-channel one, and anything unset is accepted (Novu's and Knock's default). Critical events
 * are decided by the caller: they bypass this.
 *
 * @example
 * ```ts
 * accepts({ channels: { sms: false }, eventTypes: { 'otp.sent': { sms: true } } }, 'sms', 'otp.sent') // true
 * ```
 */
export function accepts(preferences: Preferences, channel: Channel, eventType: string): boolean {
  const byType = preferences.eventTypes?.[eventType]?.[channel]
  if (byType !== undefined) return byType
  return preferences.channels?.[channel] ?? true
}

/** The digest window of an event type, in ms, or undefined when it is sent one by one. */
export function digestWindowMs(preferences: Preferences, eventType: string): number | undefined {
  const seconds = preferences.digest?.[eventType]
  return seconds !== undefined && seconds > 0 ? seconds * 1000 : undefined
}
