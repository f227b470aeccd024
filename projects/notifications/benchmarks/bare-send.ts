import Database from 'better-sqlite3'
import { Redis } from 'ioredis'
import type { Channel } from '../src/channels/channel.ts'
import { createEmailProviders } from '../src/channels/email.ts'
import { createHttpProviders } from '../src/channels/http-providers.ts'
import type { Outgoing } from '../src/channels/outgoing.ts'
import { generateSecret, sendWebhook } from '../src/standard-webhooks/index.ts'

/** One delivery of the comparators: the same provider call the service makes, and nothing else. */
export type BareDelivery = { key: string; channel: Channel; to: string; t0: number }

export type ProviderUrls = { smtp: string; sms: string; push: string; webhook: string }

/**
 * The provider calls of every channel, as the service makes them (its own provider code), without
 * what the service adds around them (outbox, preferences, templates, log, breakers, ladder).
 */
export function createBareSend(
  urls: ProviderUrls,
  { redisUrl, inboxFile }: { redisUrl: string; inboxFile: string }
) {
  const [email] = createEmailProviders([urls.smtp], {
    from: 'bench <bench@localhost>',
    timeoutMs: 10_000,
  })
  const [sms] = createHttpProviders('sms', [urls.sms])
  const [push] = createHttpProviders('push', [urls.push])
  const secret = generateSecret()
  const redis = new Redis(redisUrl)
  const db = new Database(inboxFile)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 10000')
  db.exec(
    'CREATE TABLE IF NOT EXISTS inbox (key TEXT PRIMARY KEY, subscriber TEXT, title TEXT, body TEXT, created_at INTEGER)'
  )
  const insert = db.prepare('INSERT OR IGNORE INTO inbox VALUES (?, ?, ?, ?, ?)')

  return {
    async send(d: BareDelivery): Promise<void> {
      const message: Outgoing = {
        key: d.key,
        channel: d.channel,
        to: d.to,
        content: {
          subject: 'bench.event',
          text: `delivery ${d.key}`,
          title: 'bench.event',
          body: `delivery ${d.key}`,
        },
        eventId: d.key,
        eventType: 'bench.event',
        data: { key: d.key },
      }
      switch (d.channel) {
        case 'email':
          await email!.send(message, AbortSignal.timeout(10_000))
          return
        case 'sms':
          await sms!.send(message, AbortSignal.timeout(10_000))
          return
        case 'push':
          await push!.send(message, AbortSignal.timeout(10_000))
          return
        case 'webhook': {
          const body = JSON.stringify({
            type: 'bench.event',
            timestamp: new Date().toISOString(),
            data: message.data,
          })
          const result = await sendWebhook({
            url: `${urls.webhook}/hooks/${d.to}`,
            id: d.key,
            body,
            secrets: [secret],
          })
          if (result.kind !== 'delivered') throw new Error(`webhook ${result.kind}`)
          return
        }
        case 'in_app':
          insert.run(d.key, d.to, 'bench.event', `delivery ${d.key}`, Date.now())
          await redis.publish('bench:inbox', JSON.stringify({ key: d.key, to: d.to }))
          return
      }
    },
    async close() {
      email!.close()
      await redis.quit()
      db.close()
    },
  }
}
