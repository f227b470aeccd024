/**
 * A comparator process: bare BullMQ workers making the same provider calls as the service for
 * the same deliveries (MODE=per-channel: a queue per channel, each with the service's
 * concurrency; MODE=one-queue: one queue for every channel with their summed concurrency;
 * MODE=direct: no queue at all, deliveries sent as they are handed over, as an app sending from
 * its request handler would). Reports each delivery's end-to-end time to its parent over IPC.
 */
import { Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { CHANNELS } from '../src/channels/channel.ts'
import { createBareSend, type BareDelivery, type ProviderUrls } from './bare-send.ts'

const mode = process.env.MODE as 'per-channel' | 'one-queue' | 'direct'
const urls = JSON.parse(process.env.PROVIDER_URLS!) as ProviderUrls
const concurrency = JSON.parse(process.env.CONCURRENCY!) as Record<string, number>
const prefix = process.env.QUEUE_PREFIX!
const bare = createBareSend(urls, {
  redisUrl: process.env.REDIS_URL!,
  inboxFile: process.env.INBOX_FILE!,
})

let done: [string, number][] = []
let failed: string[] = []
const flush = setInterval(() => {
  if (done.length === 0 && failed.length === 0) return
  process.send!({ done, failed })
  done = []
  failed = []
}, 50)

async function deliver(d: BareDelivery) {
  // Retried until it goes through, as BullMQ's attempts would (the providers do not fail here).
  for (let attempt = 1; ; attempt++) {
    try {
      await bare.send(d)
      break
    } catch (error) {
      if (attempt >= 5) {
        failed.push(`${d.channel} ${d.key}: ${String(error)}`)
        return
      }
    }
  }
  done.push([d.channel, Date.now() - d.t0])
}

const workers: Worker[] = []
const connection = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })
if (mode === 'per-channel') {
  for (const channel of CHANNELS) {
    workers.push(
      new Worker(`{bare-${channel}}`, (job: Job<BareDelivery>) => deliver(job.data), {
        connection,
        prefix,
        concurrency: concurrency[channel]!,
      })
    )
  }
} else if (mode === 'one-queue') {
  const total = Object.values(concurrency).reduce((a, b) => a + b, 0)
  workers.push(
    new Worker('{bare-all}', (job: Job<BareDelivery>) => deliver(job.data), {
      connection,
      prefix,
      concurrency: total,
    })
  )
} else {
  // Direct: the parent hands deliveries over; at most `total` in flight, like a request handler's pool.
  const total = Object.values(concurrency).reduce((a, b) => a + b, 0)
  let inFlight = 0
  const waiting: BareDelivery[] = []
  const pump = () => {
    while (inFlight < total && waiting.length > 0) {
      const d = waiting.shift()!
      inFlight++
      void deliver(d).finally(() => {
        inFlight--
        pump()
      })
    }
  }
  process.on('message', (message: { deliveries?: BareDelivery[] }) => {
    if (!message.deliveries) return
    waiting.push(...message.deliveries)
    pump()
  })
}
for (const worker of workers) worker.on('error', () => undefined)
await Promise.all(workers.map((w) => w.waitUntilReady()))
process.send!({ ready: true })

process.once('SIGTERM', () => {
  clearInterval(flush)
  void Promise.all(workers.map((w) => w.close()))
    .then(() => bare.close())
    .then(() => connection.quit())
    .then(() => process.exit(0))
})
