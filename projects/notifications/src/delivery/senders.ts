import type http from 'node:http'
import type https from 'node:https'
import type { Cluster, Redis } from 'ioredis'
import { ConsecutiveBreaker } from 'cockatiel'
import type { Channel } from '../channels/channel.ts'
import { createEmailProviders } from '../channels/email.ts'
import { createHttpProviders } from '../channels/http-providers.ts'
import type { Outgoing, Receipt } from '../channels/outgoing.ts'
import type { Config } from '../config.ts'
import type { GroupCommit } from '../db/group-commit.ts'
import { itemView, type InboxStore } from '../inbox/inbox-store.ts'
import { inboxChannel } from '../inbox/live-inbox.ts'
import {
  createProviderLadder,
  type BreakerState,
  type Provider,
  type ProviderLadder,
} from '../provider-ladder/index.ts'
import { createAddressPolicy, createGuardedAgents, type Resolver } from '../ssrf-guard/index.ts'

export type ProviderUrls = { smtp: string[]; sms: string[]; push: string[] }

/** The Redis hash where workers post their breakers' states, read by the API's /readyz. */
export const breakerBoardKey = (prefix: string) => `${prefix}:breakers`

export type Senders = {
  ladders: Record<Exclude<Channel, 'webhook'>, ProviderLadder<Outgoing, Receipt>>
  webhookAgents: { http: http.Agent; https: https.Agent }
  /** Every provider name, per channel (for metrics and readiness). */
  providers: Record<string, string[]>
  close(): void
}

/**
 * Every channel's way out, as a worker process uses them: a failover ladder per channel (one
 * breaker per provider; states posted to Redis for /readyz and metrics), the in-app "provider"
 * (an insert into the SQLite inbox, announced over Redis pub/sub), and SSRF-guarded agents for
 * webhooks.
 */
export function createSenders({
  config,
  urls,
  inbox,
  commit,
  redis,
  prefix,
  resolver,
  onBreakerChange,
}: {
  config: Config
  urls: ProviderUrls
  inbox: InboxStore
  /** Carries the inbox inserts, with the delivery log's writes (see src/db/group-commit.ts). */
  commit: GroupCommit
  redis: Redis | Cluster
  prefix: string
  /** Resolves webhook hosts at connect time; default the system's. Tests inject one. */
  resolver?: Resolver
  onBreakerChange?: (provider: string, state: BreakerState) => void
}): Senders {
  const email = createEmailProviders(urls.smtp, {
    from: config.EMAIL_FROM,
    timeoutMs: config.PROVIDER_TIMEOUT_MS,
  })
  const inApp: Provider<Outgoing, Receipt> = {
    name: 'inbox',
    async send(message) {
      const item = await commit(() =>
        inbox.insert({
          subscriberId: message.to,
          deliveryId: message.key,
          eventId: message.eventId,
          title: message.content.title ?? message.eventType,
          body: message.content.body ?? '',
          data: message.data,
        })
      )
      // Announced after the commit; a lost announcement is caught up by the stream's resume.
      if (item)
        await redis.publish(
          inboxChannel(prefix),
          JSON.stringify({ subscriberId: message.to, item: itemView(item) })
        )
      return item ? { id: String(item.id) } : {}
    },
  }
  const ladder = (providers: Provider<Outgoing, Receipt>[]) =>
    createProviderLadder({
      providers,
      breaker: () => new ConsecutiveBreaker(config.BREAKER_FAILURES),
      halfOpenAfterMs: config.BREAKER_HALF_OPEN_MS,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
      onStateChange(provider, state) {
        onBreakerChange?.(provider, state)
        redis
          .hset(
            breakerBoardKey(prefix),
            provider,
            JSON.stringify({ state, at: Date.now(), pid: process.pid })
          )
          .catch(() => undefined)
      },
    })
  const ladders = {
    email: ladder(email),
    sms: ladder(createHttpProviders('sms', urls.sms)),
    push: ladder(createHttpProviders('push', urls.push)),
    in_app: ladder([inApp]),
  }
  const webhookAgents = createGuardedAgents({
    policy: createAddressPolicy({ allow: config.WEBHOOK_ALLOWED_CIDRS }),
    ...(resolver && { resolver }),
  })
  return {
    ladders,
    webhookAgents,
    providers: Object.fromEntries(
      Object.entries(ladders).map(([channel, l]) => [channel, Object.keys(l.states())])
    ),
    close() {
      for (const provider of email) provider.close()
      webhookAgents.http.destroy()
      webhookAgents.https.destroy()
    },
  }
}
