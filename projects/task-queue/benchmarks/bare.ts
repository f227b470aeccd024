/**
 * The baselines of the queue benchmark: bare BullMQ doing what the service does, in a child
 * process of its own (so its CPU is its own). One mode per run, from the environment:
 *
 *   MODE=add        CONCURRENCY callers, each awaiting queue.add in a loop, for DURATION_MS
 *   MODE=add-bulk   CONCURRENCY callers, each awaiting queue.addBulk(BATCH jobs) in a loop
 *   MODE=worker     a Worker with a no-op processor at CONCURRENCY, until SIGTERM
 *   MODE=produce    queue.add at RATE jobs/s for DURATION_MS (the end-to-end producer)
 *   MODE=http       bare Hono on PORT answering the enqueue routes with 201 and ids, no queue
 *                   behind them: the HTTP ceiling of this machine, until SIGTERM
 *   MODE=http-add   bare Hono on PORT whose enqueue routes await queue.add / queue.addBulk, as
 *                   one would write it without the kit: HTTP plus BullMQ, until SIGTERM
 *
 * Jobs carry the options the service gives a noop job (toJobOptions), so Redis does the same
 * work on both sides. Prints one JSON line: `{"ready":true}` when it starts measuring, then
 * `{"jobs":N,"seconds":S,"cpuSeconds":C}` when done (CPU of the measured part only).
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { serve } from '@hono/node-server'
import { Queue, Worker } from 'bullmq'
import { Hono } from 'hono'
import { Redis } from 'ioredis'
import { toJobOptions } from '../src/jobs/job-requests.ts'

const env = process.env
const mode = env.MODE
const concurrency = Number(env.CONCURRENCY ?? 50)
const durationMs = Number(env.DURATION_MS ?? 10_000)
const keepCompleted = Number(env.KEEP_COMPLETED ?? 1000)
const retention = { keepCompleted, keepCompletedSeconds: 86_400 }
const connection = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: null })
const queueOptions = { connection, prefix: env.QUEUE_PREFIX! }
const job = () => ({
  name: 'noop',
  data: {},
  opts: toJobOptions({ name: 'noop', data: {} }, randomUUID(), retention),
})
const print = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`)

async function timed(run: (until: number) => Promise<number>): Promise<void> {
  const cpu = process.cpuUsage()
  const started = performance.now()
  print({ ready: true })
  const jobs = await run(started + durationMs)
  const used = process.cpuUsage(cpu)
  print({
    jobs,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
  })
}

if (mode === 'add' || mode === 'add-bulk' || mode === 'produce') {
  const queue = new Queue(env.QUEUE_NAME!, queueOptions)
  await queue.waitUntilReady()
  const batch = Number(env.BATCH ?? 100)
  if (mode === 'produce') {
    const rate = Number(env.RATE ?? 1000)
    await timed(async (until) => {
      let sent = 0
      const start = performance.now()
      const pending: Promise<unknown>[] = []
      // Paced: job k leaves at start + k / rate, whatever the previous adds are doing.
      while (performance.now() < until) {
        const due = Math.floor(((performance.now() - start) / 1000) * rate)
        for (; sent < due; sent++) {
          const { name, data, opts } = job()
          pending.push(queue.add(name, data, opts))
        }
        await sleep(1)
      }
      await Promise.all(pending)
      return sent
    })
  } else {
    await timed(async (until) => {
      let jobs = 0
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < until) {
            if (mode === 'add') {
              const { name, data, opts } = job()
              await queue.add(name, data, opts)
              jobs++
            } else {
              await queue.addBulk(Array.from({ length: batch }, job))
              jobs += batch
            }
          }
        })
      )
      return jobs
    })
  }
  await queue.close()
  await connection.quit()
} else if (mode === 'worker') {
  const worker = new Worker(env.QUEUE_NAME!, async () => {}, { ...queueOptions, concurrency })
  await worker.waitUntilReady()
  print({ ready: true })
  process.once('SIGTERM', () => {
    void worker.close().then(async () => {
      await connection.quit()
      process.exit(0)
    })
  })
} else if (mode === 'http') {
  // What the API does around the queue, minus the queue: parse the JSON, answer 201 with ids.
  const app = new Hono()
  app.post('/api/jobs', async (c) => {
    await c.req.json()
    return c.json({ id: randomUUID(), state: 'waiting' }, 201)
  })
  app.post('/api/jobs/bulk', async (c) => {
    const { jobs } = await c.req.json<{ jobs: unknown[] }>()
    return c.json({ jobs: jobs.map(() => ({ id: randomUUID(), state: 'waiting' })) }, 201)
  })
  serveUntilSigterm(app)
} else if (mode === 'http-add') {
  // The same routes with BullMQ behind them and nothing else: one queue.add per request.
  const queue = new Queue(env.QUEUE_NAME!, queueOptions)
  await queue.waitUntilReady()
  const app = new Hono()
  app.post('/api/jobs', async (c) => {
    const { name, data } = await c.req.json<{ name: string; data: object }>()
    const added = await queue.add(name, data, job().opts)
    return c.json({ id: added.id, state: 'waiting' }, 201)
  })
  app.post('/api/jobs/bulk', async (c) => {
    const { jobs } = await c.req.json<{ jobs: { name: string; data: object }[] }>()
    const added = await queue.addBulk(
      jobs.map(({ name, data }) => ({ name, data, opts: job().opts }))
    )
    return c.json({ jobs: added.map(({ id }) => ({ id, state: 'waiting' })) }, 201)
  })
  serveUntilSigterm(app)
} else {
  throw new Error(`MODE must be add, add-bulk, worker, produce, http or http-add; got ${mode}`)
}

function serveUntilSigterm(app: Hono): void {
  const server = serve({ fetch: app.fetch, port: Number(env.PORT), hostname: '127.0.0.1' }, () =>
    print({ ready: true })
  )
  process.once('SIGTERM', () => {
    server.close()
    void connection.quit().then(() => process.exit(0))
  })
}
