/**
 * Test support: the API wired as main.ts wires it (real Redis, real BullMQ), on a queue of its
 * own; worker processes started from src/worker-main.ts as production starts them.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createHealth, createLogger, createMetrics, serveApp, type ServedApp } from '@kit/http'
import { uniqueName } from '@kit/testing'
import { Queue } from 'bullmq'
import { Cluster, Redis } from 'ioredis'
import { inject } from 'vitest'
import { createApp } from '../src/app.ts'
import { loadConfig, queuePrefix, type Config } from '../src/config.ts'
import { createQueueService, type QueueService } from '../src/queue-service.ts'
import { evictionPolicy } from '../src/readiness.ts'
import { createRedisClient, ping, waitUntilReady, type RedisClient } from '../src/redis-client.ts'

export const ADMIN_KEY = 'test-admin-key-0123456789'
export const admin = { authorization: `Bearer ${ADMIN_KEY}` }
export const projectDir = fileURLToPath(new URL('..', import.meta.url))

/** A queue name of its own: `test-<label>-<uuid8>` (a-z 0-9 -). */
export function testQueueName(label = 'q'): string {
  return uniqueName(label).toLowerCase()
}

/** Where a test runs: one redis-server, or the run's Redis Cluster (three masters). */
export const TARGETS = ['single', 'cluster'] as const
export type Target = (typeof TARGETS)[number]

/** REDIS_URL for a target: one URL, or the cluster's seed nodes comma-separated. */
export function redisUrlOf(target: Target): string {
  return target === 'single' ? inject('redisUrl') : inject('redisClusterUrls')
}

/** A plain client for a test's own reads (a Cluster for a comma-separated URL). */
export function testClient(url: string): Redis | Cluster {
  const options = { maxRetriesPerRequest: null }
  return url.includes(',')
    ? new Cluster(url.split(','), { redisOptions: options })
    : new Redis(url, options)
}

export type TestApp = {
  app: ReturnType<typeof createApp>
  config: Config
  service: QueueService
  redis: RedisClient
  close(): Promise<void>
}

/** The API on a real Redis (the run's, unless `redisUrl`), a request-path client like main.ts. */
export async function buildTestApp({
  redisUrl = inject('redisUrl'),
  env = {},
  metrics = false,
  errors,
}: {
  redisUrl?: string
  env?: Record<string, string>
  /** Serve /metrics as main.ts does. */
  metrics?: boolean
  /** Keeps the lines the API logs at error (a 5xx's cause), for a test to name in a failure. */
  errors?: string[]
} = {}): Promise<TestApp> {
  const config = loadConfig({ REDIS_URL: redisUrl, QUEUE_NAME: testQueueName(), ADMIN_KEY, ...env })
  const logger = errors
    ? createLogger({
        name: 'task-queue-test',
        level: 'error',
        destination: { write: (line: string) => void errors.push(line) },
      })
    : createLogger({ name: 'task-queue-test', level: 'silent' })
  const redis = createRedisClient(redisUrl, { role: 'request', name: 'test-api', logger })
  await waitUntilReady(redis, 10_000)
  const service = createQueueService({ redis, config })
  const health = createHealth([
    { name: 'redis', critical: true, check: () => ping(redis) },
    {
      name: 'eviction-policy',
      critical: true,
      check: async () => (await evictionPolicy(redis)).ok,
    },
  ])
  const app = createApp({
    config,
    service,
    redis,
    adminKey: ADMIN_KEY,
    logger,
    health,
    ...(metrics && { metrics: createMetrics() }),
  })
  return {
    app,
    config,
    service,
    redis,
    async close() {
      await service.close().catch(() => {})
      const admin = testClient(redisUrl)
      admin.on('error', () => {})
      await Promise.resolve()
        .then(async () => {
          for (const name of [config.QUEUE_NAME, `${config.QUEUE_NAME}-dead`]) {
            const queue = new Queue(name, { connection: admin, prefix: queuePrefix(name) })
            await queue.obliterate({ force: true })
            await queue.close()
          }
        })
        .catch(() => {})
      admin.disconnect()
      redis.disconnect()
    },
  }
}

/** Serves a test app on a free port, as main.ts does (signals left to the test). */
export async function serveTestApp(app: TestApp['app']): Promise<ServedApp> {
  return serveApp(app, {
    port: 0,
    hostname: '127.0.0.1',
    logger: createLogger({ name: 'task-queue-test', level: 'silent' }),
    handleSignals: false,
  })
}

export function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return new Request(`http://test${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

export type WorkerProcess = {
  child: ChildProcess
  pid: number
  /** Every log line the worker wrote (pino JSON). */
  lines: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * A worker process running src/worker-main.ts under tsx (the same code dist/worker-main.js
 * bundles), with `env` over the test defaults; resolves once it logged 'worker started'.
 */
export async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], {
    cwd: projectDir,
    // 'info' at least: the test waits for the 'worker started' line.
    env: { ...process.env, ADMIN_KEY, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let buffered = ''
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal }))
  )
  const started = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      const parts = buffered.split('\n')
      buffered = parts.pop() ?? ''
      for (const line of parts) {
        lines.push(line)
        if (line.includes('"worker started"')) resolve()
      }
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    void exited.then(({ code }) =>
      reject(new Error(`worker exited (${code}) before starting:\n${stderr}`))
    )
  })
  const timeout = setTimeout(() => child.kill('SIGKILL'), 30_000)
  await started.finally(() => clearTimeout(timeout))
  return {
    child,
    pid: child.pid!,
    lines,
    exited,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}
