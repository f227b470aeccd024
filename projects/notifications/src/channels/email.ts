import nodemailer from 'nodemailer'
import { PermanentError, type Provider } from '../provider-ladder/index.ts'
import { ProviderError, type Outgoing, type Receipt } from './outgoing.ts'

/**
 * One email provider per SMTP URL, each a pooled nodemailer transport. The delivery id travels as
 * `X-Idempotency-Key` and in the Message-ID, so a relay (or the local sink) can drop a resend.
 * A 5xx SMTP reply (mailbox unknown, message refused) is permanent; 4xx, timeouts and
 * connection errors are retried.
 *
 * @example
 * ```ts
 * const providers = createEmailProviders(['smtp://relay-a:587', 'smtp://relay-b:587'], { from: 'App <no-reply@app.io>' })
 * ```
 */
export function createEmailProviders(
  urls: readonly string[],
  { from, timeoutMs }: { from: string; timeoutMs: number }
): (Provider<Outgoing, Receipt> & { close(): void })[] {
  return urls.map((url, i) => {
    const transport = nodemailer.createTransport({
      url,
      pool: true,
      // One connection per concurrent send: a send never waits for a busy connection.
      maxConnections: 20,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      // The send's own timeout (below) decides; the socket's only cleans up after it.
      socketTimeout: timeoutMs * 2,
      // The local sink speaks plain SMTP; a real relay on 587 upgrades with STARTTLS.
      ignoreTLS: url.startsWith('smtp://') && new URL(url).hostname === '127.0.0.1',
    } as Parameters<typeof nodemailer.createTransport>[0])
    return {
      name: `smtp-${i === 0 ? 'primary' : `backup-${i}`}`,
      async send(message, signal) {
        const sending = transport.sendMail({
          from,
          to: message.to,
          subject: message.content.subject ?? message.eventType,
          text: message.content.text ?? '',
          ...(message.content.html ? { html: message.content.html } : {}),
          messageId: `<${message.key}@notifications.kit>`,
          headers: { 'X-Idempotency-Key': message.key },
        })
        const aborted = new Promise<never>((_, reject) => {
          signal.addEventListener(
            'abort',
            () => reject(new ProviderError('smtp timeout', undefined, true)),
            {
              once: true,
            }
          )
        })
        try {
          const info = (await Promise.race([sending, aborted])) as { messageId?: string }
          return info.messageId === undefined ? {} : { id: info.messageId }
        } catch (error) {
          if (error instanceof ProviderError) throw error
          const { responseCode, code } = error as { responseCode?: number; code?: string }
          if (responseCode !== undefined && responseCode >= 500) {
            throw new PermanentError(`smtp ${responseCode}: ${(error as Error).message}`, {
              cause: error,
            })
          }
          // The relay said no (4xx), or it was never reached: nothing was accepted. Anything
          // else (a timeout, a socket closed after DATA) may have been: ambiguous.
          const refused = responseCode !== undefined || code === 'ECONNECTION' || code === 'EDNS'
          throw new ProviderError(`smtp: ${(error as Error).message}`, undefined, !refused)
        }
      },
      close: () => transport.close(),
    }
  })
}
