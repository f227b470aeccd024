import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { serve, type ServerType } from '@hono/node-server'
import { createLogger, serveApp, type ServedApp } from '@kit/http'
import {
  startRedisServer,
  tempSqliteFile,
  uniqueName,
  waitFor,
  type RedisServer,
} from '@kit/testing'
import { Hono } from 'hono'
import { Redis, type Cluster } from 'ioredis'
import type { AddressInfo } from 'node:net'
import { inject } from 'vitest'
import { loadConfig, type Config } from '../src/config.ts'
import { startHttpProvider, type HttpProvider } from '../src/local-providers/http-provider.ts'
import { startSmtpSink, type SmtpSink } from '../src/local-providers/smtp-sink.ts'
import { createApiService, type ApiService } from '../src/service.ts'
import type { Resolver } from '../src/ssrf-guard/index.ts'
import {
  redisSeenIds,
  webhookReceiver,
  type ReceivedWebhook,
} from '../src/standard-webhooks/index.ts'
import { createWorkerService, type WorkerService } from '../src/worker-service.ts'

export const MIGRATIONS = fileURLToPath(new URL('../drizzle', import.meta.url))
const WORKER_ENTRY = fileURLToPath(new URL('../src/worker-main.ts', import.meta.url))

/** Logs go nowhere unless LOG_LEVEL is set for a run. */
export const logger = createLogger({ name: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' })

/** Settings that make retries, breakers and stalled jobs fast enough for a test. */
export const FAST: Record<string, string> = {
  RETRY_BASE_MS: '20',
  CHANNEL_ATTEMPTS: '30',
  BREAKER_FAILURES: '5',
  BREAKER_HALF_OPEN_MS: '300',
  PROVIDER_TIMEOUT_MS: '1000',
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_RETRY_SCHEDULE:
    '20ms,40ms,80ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms',
  WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
  OUTBOX_POLL_MS: '50',
  WORKER_LOCK_MS: '5000',
  WORKER_STALLED_INTERVAL_MS: '2000',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
}

/** The reference Standard Webhooks receiver on a loopback socket, applying each webhook-id once. */
export async function startWebhookReceiver(redis: Redis) {
  const applied = new Map<string, ReceivedWebhook>()
  /** The headers of every attempt, by webhook-id. */
  const attempts = new Map<string, Record<string, string>[]>()
  const secrets = new Map<string, string[]>()
  let calls = 0
  let answer: ((path: string) => Response | undefined) | undefined
  const app = new Hono()
  app.post('/hooks/:endpoint', async (c, next) => {
    calls++
    const id = c.req.header('webhook-id') ?? ''
    attempts.set(id, [...(attempts.get(id) ?? []), c.req.header()])
    const scripted = answer?.(c.req.param('endpoint'))
    if (scripted) return scripted
    return next()
  })
  app.post('/hooks/:endpoint', (c) =>
    webhookReceiver({
      secrets: () => secrets.get(c.req.param('endpoint')) ?? [],
      seen: redisSeenIds(redis, { prefix: `${uniqueName('seen')}:` }),
      onMessage: (message) => {
        applied.set(message.id, message)
      },
    })(c)
  )
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    base,
    applied,
    attempts,
    get calls() {
      return calls
    },
    /** The URL an endpoint named `name` registers; its secrets are set once known. */
    urlFor: (name: string) => `${base}/hooks/${name}`,
    trust: (name: string, list: string[]) => secrets.set(name, list),
    /** Answers instead of the receiver while set (a status, a redirect, a hang…). */
    script(fn: ((endpoint: string) => Response | undefined) | undefined) {
      answer = fn
    },
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>

/**
 * An HTTP provider (SMS or push wire) whose every answer the test decides, by idempotency key
 * and call number; it records when each call arrived.
 */
export async function startScriptedProvider() {
  const calls: { key: string; at: number }[] = []
  let answer: (key: string, call: number) => Response | undefined = () => undefined
  const app = new Hono()
  app.post('*', (c) => {
    const key = c.req.header('idempotency-key') ?? ''
    calls.push({ key, at: Date.now() })
    const call = calls.filter((entry) => entry.key === key).length
    return answer(key, call) ?? c.json({ id: key }, 202)
  })
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    /** Arrival times of the calls with this key. */
    callsOf: (key: string) => calls.filter((entry) => entry.key === key).map((entry) => entry.at),
    /** Answers instead of 202 when `fn` returns a response (call counts from 1 per key). */
    script(fn: (key: string, call: number) => Response | undefined) {
      answer = fn
    },
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
export type ScriptedProvider = Awaited<ReturnType<typeof startScriptedProvider>>

export type Providers = {
  smtp: SmtpSink[]
  sms: HttpProvider[]
  push: HttpProvider[]
}

export async function startProviders(): Promise<Providers> {
  return {
    smtp: [await startSmtpSink({ name: 'smtp-a' }), await startSmtpSink({ name: 'smtp-b' })],
    sms: [
      await startHttpProvider({ kind: 'sms', name: 'sms-a' }),
      await startHttpProvider({ kind: 'sms', name: 'sms-b' }),
    ],
    push: [
      await startHttpProvider({ kind: 'push', name: 'push-a' }),
      await startHttpProvider({ kind: 'push', name: 'push-b' }),
    ],
  }
}

export type Stack = {
  config: Config
  env: Record<string, string>
  redisUrl: string
  /** Present when the stack started its own redis-server (fault tests). */
  redisServer: RedisServer | undefined
  redis: Redis
  api: ApiService
  served: ServedApp
  url: string
  providers: Providers
  receiver: WebhookReceiver
  /** In-process workers (started by `startWorkers`). */
  workers: WorkerService[]
  /** Worker processes (started by `spawnWorkers`). */
  processes: ChildProcess[]
  startWorkers(options?: { resolver?: Resolver }): Promise<WorkerService>
  spawnWorkers(count: number): Promise<ChildProcess[]>
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>
  close(): Promise<void>
}

/**
 * The whole service on real parts: a temp SQLite file, Redis (the run's, or its own server for
 * fault tests), two of each local provider, the reference webhook receiver, the API served on a
 * free port, and workers in process or as real processes.
 */
export async function startStack({
  ownRedis = false,
  env: extra = {},
  resolver,
  queueConnection,
  now,
}: {
  ownRedis?: boolean
  env?: Record<string, string>
  resolver?: Resolver
  /** The channel queues' Redis (a Cluster); the rest stays on the run's server. */
  queueConnection?: Redis | Cluster
  /** The clock the API's fan-out plans by (quiet hours, digests). */
  now?: () => number
} = {}): Promise<Stack> {
  const redisServer = ownRedis ? await startRedisServer({ appendonly: true }) : undefined
  const redisUrl = redisServer?.url ?? inject('redisUrl')
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null, lazyConnect: false })
  redis.on('error', () => undefined)
  const db = tempSqliteFile('notifications')
  const providers = await startProviders()
  const receiver = await startWebhookReceiver(redis)
  const env: Record<string, string> = {
    ...FAST,
    DB_FILE: db.path,
    QUEUE_PREFIX: uniqueName('n').toLowerCase(),
    REDIS_URL: redisUrl,
    SMTP_URLS: providers.smtp.map((p) => p.url).join(','),
    SMS_PROVIDER_URLS: providers.sms.map((p) => p.url).join(','),
    PUSH_PROVIDER_URLS: providers.push.map((p) => p.url).join(','),
    ...extra,
  }
  const config = loadConfig(env)
  const api = createApiService({
    config,
    redisUrl,
    logger,
    migrationsFolder: MIGRATIONS,
    ...(resolver && { resolver }),
    ...(queueConnection && { queueConnection }),
    ...(now && { now }),
  })
  const served = await serveApp(api.app, {
    port: 0,
    hostname: '127.0.0.1',
    logger,
    health: api.health,
    handleSignals: false,
  })
  const workers: WorkerService[] = []
  const processes: ChildProcess[] = []
  const urls = {
    smtp: config.SMTP_URLS!,
    sms: config.SMS_PROVIDER_URLS!,
    push: config.PUSH_PROVIDER_URLS!,
  }

  return {
    config,
    env,
    redisUrl,
    redisServer,
    redis,
    api,
    served,
    url: served.url,
    providers,
    receiver,
    workers,
    processes,
    async startWorkers(options = {}) {
      const service = createWorkerService({
        config,
        redisUrl,
        urls,
        logger,
        migrationsFolder: MIGRATIONS,
        ...(queueConnection && { connection: queueConnection }),
        ...options,
      })
      await service.workers.waitUntilReady()
      workers.push(service)
      return service
    },
    async spawnWorkers(count) {
      const started = await Promise.all(
        Array.from({ length: count }, async () => {
          const child = fork(WORKER_ENTRY, [], {
            env: { ...process.env, ...env },
            execArgv: ['--import', 'tsx'],
            stdio: 'inherit',
          })
          processes.push(child)
          const [message] = (await Promise.race([
            once(child, 'message'),
            once(child, 'exit').then(() => [{ exited: true }]),
          ])) as [{ ready?: boolean }]
          if (!message.ready) throw new Error('worker process exited before it was ready')
          return child
        })
      )
      return started
    },
    request(path, { json, ...init } = {}) {
      return fetch(`${served.url}${path}`, {
        ...init,
        ...(json !== undefined && { body: JSON.stringify(json), method: init.method ?? 'POST' }),
        headers: {
          ...(json !== undefined && { 'content-type': 'application/json' }),
          ...init.headers,
        },
      })
    },
    async close() {
      await Promise.all(
        processes.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return
          const exited = once(child, 'exit')
          child.kill('SIGKILL')
          await exited
        })
      )
      await Promise.all(workers.map((w) => w.close()))
      await served.shutdown()
      await api.close()
      await Promise.all(
        [...providers.smtp, ...providers.sms, ...providers.push].map((p) => p.close())
      )
      await receiver.close()
      await redis.quit().catch(() => redis.disconnect())
      await redisServer?.stop()
      db.cleanup()
    },
  }
}

/** Creates a subscriber reachable on every channel (webhook endpoint included). */
export async function addSubscriber(
  stack: Stack,
  id: string,
  extra: Record<string, unknown> = {},
  { webhook = true }: { webhook?: boolean } = {}
) {
  const res = await stack.request(`/v1/subscribers/${id}`, {
    method: 'PUT',
    json: {
      email: `${id}@example.com`,
      phone: `+3361${String(Math.abs(hash(id)) % 10_000_000).padStart(7, '0')}`,
      pushTokens: [`token-${id}-0001`],
      ...extra,
    },
  })
  if (res.status !== 200) throw new Error(`PUT subscriber: ${res.status} ${await res.text()}`)
  if (!webhook) return undefined
  const hook = await stack.request(`/v1/subscribers/${id}/webhooks`, {
    json: { url: stack.receiver.urlFor(id) },
  })
  if (hook.status !== 201) throw new Error(`POST webhook: ${hook.status} ${await hook.text()}`)
  const endpoint = (await hook.json()) as { id: string; secret: string }
  stack.receiver.trust(id, [endpoint.secret])
  return endpoint
}

function hash(text: string): number {
  let h = 0
  for (const char of text) h = (h * 31 + char.charCodeAt(0)) | 0
  return h
}

export async function trigger(
  stack: Stack,
  body: Record<string, unknown>,
  headers: Record<string, string> = {}
) {
  const res = await stack.request('/v1/events', { json: body, headers })
  return {
    status: res.status,
    body: (await res.json()) as { id: string } & Record<string, unknown>,
    headers: res.headers,
  }
}

/**
 * Waits until the outbox is empty and no delivery is queued or waiting for a breaker (those held
 * by quiet hours wait for hours on purpose and count as settled).
 */
export async function settled(stack: Stack, { timeoutMs = 60_000 } = {}) {
  const pendingRows = () =>
    stack.api.sqlite
      .prepare(
        "SELECT id, channel, status, reason, attempts, pinned_provider AS pinned FROM deliveries WHERE status = 'queued' OR (status = 'suppressed' AND reason = 'breaker_open')"
      )
      .all() as { id: string }[]
  try {
    await waitFor(
      () => {
        const counts = stack.api.log.countByStatus()
        return (
          stack.api.outbox.backlog().count === 0 &&
          Object.keys(counts).length > 0 &&
          pendingRows().length === 0
        )
      },
      { timeoutMs, intervalMs: 50, message: 'deliveries never settled' }
    )
  } catch (error) {
    const stuck = pendingRows()
    const steps = stuck
      .slice(0, 3)
      .map((row) =>
        stack.api.sqlite
          .prepare(
            'SELECT status, reason, provider, attempt, detail FROM delivery_log WHERE delivery_id = ? ORDER BY id'
          )
          .all(row.id)
      )
    throw new Error(
      `${(error as Error).message}: outbox ${stack.api.outbox.backlog().count}, ${stuck.length} pending, e.g. ${JSON.stringify(stuck.slice(0, 3))} ${JSON.stringify(steps)}`,
      { cause: error }
    )
  }
}
