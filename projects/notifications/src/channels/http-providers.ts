import { PermanentError, type Provider } from '../provider-ladder/index.ts'
import { parseRetryAfter } from '../standard-webhooks/index.ts'
import { ProviderError, type Outgoing, type Receipt } from './outgoing.ts'

/** Where an HTTP provider of each channel is posted to, and what it is sent. */
const WIRES = {
  sms: { path: '/messages', body: (m: Outgoing) => ({ to: m.to, text: m.content.text ?? '' }) },
  push: {
    path: '/push',
    body: (m: Outgoing) => ({
      token: m.to,
      title: m.content.title ?? m.eventType,
      body: m.content.body ?? '',
      data: { eventId: m.eventId },
    }),
  },
} as const

/**
 * One provider per base URL for the SMS or push channel: a JSON POST with the delivery id as
 * `Idempotency-Key` (the providers' common contract, as Stripe's). 2xx delivers; 408, 429 and
 * 5xx are transient (with their Retry-After); any other 4xx is permanent.
 *
 * @example
 * ```ts
 * const sms = createHttpProviders('sms', ['https://sms-a.example', 'https://sms-b.example'])
 * ```
 */
export function createHttpProviders(
  kind: keyof typeof WIRES,
  urls: readonly string[]
): Provider<Outgoing, Receipt>[] {
  const wire = WIRES[kind]
  return urls.map((base, i) => {
    const url = new URL(wire.path, base).href
    const name = `${kind}-${i === 0 ? 'primary' : `backup-${i}`}`
    return {
      name,
      async send(message, signal) {
        let res: Response
        try {
          res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': message.key },
            body: JSON.stringify(wire.body(message)),
            signal,
          })
        } catch (error) {
          // A timeout may come after the provider applied the message: ambiguous. A refused
          // connection cannot.
          const timedOut = (error as Error).name === 'TimeoutError'
          throw new ProviderError(
            `${name}: ${timedOut ? 'timeout' : (error as Error).message}`,
            undefined,
            timedOut
          )
        }
        const answer = (await res.json().catch(() => ({}))) as { id?: string }
        if (res.ok) return answer.id === undefined ? {} : { id: answer.id }
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
          throw new PermanentError(`${name}: HTTP ${res.status}`)
        }
        throw new ProviderError(
          `${name}: HTTP ${res.status}`,
          parseRetryAfter(res.headers.get('retry-after'))
        )
      },
    }
  })
}
