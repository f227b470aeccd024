import { fileURLToPath } from 'node:url'
import { createHealth, createLogger, createMetrics } from '@kit/http'
import { createRedis, pingRedis } from '@kit/redis'
import { tempSqliteFile, uniqueName } from '@kit/testing'
import { afterAll, beforeAll, inject } from 'vitest'
import type { Logger } from 'pino'
import type { Redis } from 'ioredis'
import { createClickRecorder } from '../src/analytics/click-recorder.ts'
import type { ClickRecorder } from '../src/analytics/click-recorder.ts'
import { createApp } from '../src/app.ts'
import { createCodeStrategy } from '../src/codes/code-strategy.ts'
import { loadConfig } from '../src/config.ts'
import type { Config } from '../src/config.ts'
import { openServiceDatabase } from '../src/database.ts'
import type { ServiceDatabase } from '../src/database.ts'
import { createLinkCache } from '../src/link-cache/link-cache.ts'
import type { LinkCache } from '../src/link-cache/link-cache.ts'
import { createLinkStore } from '../src/links/link-store.ts'
import type { LinkStore, RedirectEntry } from '../src/links/link-store.ts'
import { createCreationLimiter } from '../src/middleware/creation-limit.ts'

export const API_KEY = 'test-api-key-0123456789'

/** The app as createApp() builds it. */
export type App = ReturnType<typeof createApp>
export const MIGRATIONS = fileURLToPath(new URL('../drizzle', import.meta.url))

export type TestDatabase = ServiceDatabase & { path: string; cleanup(): Promise<void> }

/** A real SQLite file in a fresh temp dir, migrated like production. */
export function openTestDatabase(label = 'url-shortener'): TestDatabase {
  const file = tempSqliteFile(label)
  const database = openServiceDatabase(file.path, { migrationsFolder: MIGRATIONS })
  return {
    ...database,
    path: file.path,
    async cleanup() {
      await database.close()
      file.cleanup()
    },
  }
}

export type TestAppOptions = {
  /** Share one database between instances; by default each app gets its own temp file. */
  database?: TestDatabase
  /** Redis cache and shared rate limit (a request-path client). */
  redis?: Redis
  /** Environment overrides, as strings (validated by the real loadConfig). */
  env?: Record<string, string>
  now?: () => number
  /** Redis key prefix; unique per app by default so test files never share keys. */
  keyPrefix?: string
  /** Default: silent. */
  logger?: Logger
}

export type TestApp = {
  app: App
  config: Config
  database: TestDatabase
  links: LinkStore
  cache: LinkCache<RedirectEntry>
  clicks?: ClickRecorder
  /** Stops the recorder and cache; closes the database if the app opened it. */
  close(): Promise<void>
}

/**
 * The app with the same wiring as main.ts, on real parts: a temp SQLite file with the committed
 * migrations, the real click recorder, and Redis when given. Defaults for tests: short links on
 * https://sho.rt, a deny list of bit.ly and evil.example, no creation limit.
 */
export function buildTestApp({
  database,
  redis,
  env = {},
  now,
  keyPrefix = uniqueName('link'),
  logger = createLogger({ level: 'silent' }),
}: TestAppOptions = {}): TestApp {
  const config = loadConfig({
    PUBLIC_BASE_URL: 'https://sho.rt',
    DENY_HOSTS: 'bit.ly,evil.example',
    CREATE_RATE_LIMIT: '0',
    API_KEY,
    ...env,
  })
  const db = database ?? openTestDatabase()
  const links = createLinkStore({
    db: db.db,
    codes: createCodeStrategy(config.CODE_STRATEGY, {
      length: config.CODE_LENGTH,
      workerId: config.WORKER_ID,
      secret: config.CODE_SECRET,
    }),
    now,
  })
  const cache = createLinkCache({
    load: (code) => links.redirectEntry(code),
    version: (entry) => entry.version,
    redis,
    keyPrefix,
    maxEntries: config.CACHE_SIZE,
    ttlMs: config.CACHE_TTL_SECONDS * 1000,
    probeIntervalMs: 100,
  })
  // A long interval: tests flush explicitly (the stats API flushes before answering).
  const clicks = config.TRACK_CLICKS
    ? createClickRecorder({ db: db.db, flushIntervalMs: 60_000 })
    : undefined
  const health = createHealth(
    redis ? [{ name: 'redis', critical: false, check: () => pingRedis(redis) }] : []
  )
  const metrics = createMetrics({ collectDefaultMetrics: false })
  const app = createApp({
    config,
    links,
    cache,
    db: db.db,
    clicks,
    creationLimiter:
      config.CREATE_RATE_LIMIT > 0
        ? createCreationLimiter({
            perMinute: config.CREATE_RATE_LIMIT,
            redis,
            keyPrefix: `${keyPrefix}:limit`,
          })
        : undefined,
    apiKey: config.API_KEY as string,
    logger,
    health,
    metrics,
    now,
  })
  return {
    app,
    config,
    database: db,
    links,
    cache,
    clicks,
    async close() {
      await clicks?.close()
      cache.close()
      if (!database) await db.cleanup()
    },
  }
}

type Json = Record<string, unknown> | unknown[]

/**
 * A JSON request through app.request(); `key: false` sends no API key; `clientIp` is the TCP
 * peer address the app sees (as @hono/node-server gives it in `c.env.incoming`).
 */
export function request(
  app: App,
  method: string,
  path: string,
  {
    body,
    key = API_KEY,
    headers = {},
    clientIp,
  }: {
    body?: Json | string
    key?: string | false
    headers?: Record<string, string>
    clientIp?: string
  } = {}
): Promise<Response> {
  return Promise.resolve(
    app.request(
      path,
      {
        method,
        headers: {
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(key === false ? {} : { 'X-API-Key': key }),
          ...headers,
        },
        body:
          body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      },
      clientIp === undefined ? undefined : { incoming: { socket: { remoteAddress: clientIp } } }
    )
  )
}

/** Creates a link through the API and returns its body; fails the test on anything but 201. */
export async function createLink(
  app: App,
  body: Json
): Promise<{ code: string; target: string; shortUrl: string }> {
  const res = await request(app, 'POST', '/api/links', { body })
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`)
  return res.json() as Promise<{ code: string; target: string; shortUrl: string }>
}

/** Counts rows in the links table, deleted ones included. */
export function countRows(database: TestDatabase): number {
  return (database.sqlite.prepare('SELECT COUNT(*) AS n FROM links').get() as { n: number }).n
}

/**
 * Two instances of the app sharing Redis under one key prefix, as two replicas behind a load
 * balancer: each has its own request client, both are ready before the suite's tests run and
 * closed after them. Call it inside a `describe`.
 */
export function twoInstances(options: Omit<TestAppOptions, 'redis' | 'keyPrefix'> = {}) {
  const silent = { warn() {}, info() {} }
  const redisA = createRedis(inject('redisUrl'), { role: 'request', logger: silent })
  const redisB = createRedis(inject('redisUrl'), { role: 'request', logger: silent })
  const keyPrefix = uniqueName('two-instances')
  const a = buildTestApp({ ...options, redis: redisA, keyPrefix })
  const b = buildTestApp({ ...options, redis: redisB, keyPrefix })
  beforeAll(() => Promise.all([a.cache.ready(), b.cache.ready()]))
  afterAll(async () => {
    await a.close()
    await b.close()
    redisA.disconnect()
    redisB.disconnect()
  })
  return { a, b, redisA, keyPrefix }
}
