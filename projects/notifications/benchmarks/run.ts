/**
 * Fan-out benchmark: the service against bare BullMQ workers making the same provider calls for
 * the same deliveries, in one run, interleaved and rotated round by round.
 *
 *   pnpm --filter @kit/notifications bench            # measured: 5 rounds (ROUNDS, EVENTS, RECIPIENTS, WORKERS)
 *   pnpm --filter @kit/notifications bench --smoke    # wiring check: 1 small round, flagged smoke
 *
 * Targets, each with WORKERS worker processes and the service's per-channel concurrency:
 * - notifications: dist/main.js; events POSTed to /v1/events (outbox, fan-out, preferences,
 *   templates, delivery log, breakers, ladder); a delivery ends when its log says sent;
 * - bullmq-per-channel (the baseline): a bare BullMQ queue per channel, jobs added directly;
 * - bullmq-one-queue: one bare queue for every channel;
 * - direct: no queue, sent from the producer's process as it goes.
 * Every delivery of an event goes to the same local providers (SMTP, SMS, push, webhook
 * receiver; in-app is a SQLite insert and a Redis publish), run in a process of their own.
 * "Requests" in the report are deliveries; latency is from the event's acceptance (or the
 * job's enqueue) to the provider's answer. The outbox relay's lag is stated in the notes.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  describeEnvironment,
  freePort,
  median,
  pairedRatio,
  roundOrder,
  saveResult,
  type BenchResult,
  type RoundResult,
  type TargetResult,
} from '@kit/bench'
import { startRedisServer } from '@kit/testing'
import { Queue } from 'bullmq'
import Database from 'better-sqlite3'
import { Redis } from 'ioredis'
import { scenarios } from '@kit/loadtests/scenarios/notifications'
import { CHANNELS, type Channel } from '../src/channels/channel.ts'
import type { BareDelivery, ProviderUrls } from './bare-send.ts'

// The load shape is shared with the k6 script (loadtests/scenarios/notifications.js).
const { 'fan-out': shape } = scenarios
const smoke = process.argv.includes('--smoke')
const ROUNDS = smoke ? 1 : Number(process.env.ROUNDS ?? 5)
const EVENTS = smoke ? 10 : Number(process.env.EVENTS ?? shape!.fanOut.events)
const RECIPIENTS = Number(process.env.RECIPIENTS ?? shape!.recipientsPerEvent)
const WORKERS = Number(process.env.WORKERS ?? shape!.fanOut.workers)
const CONCURRENCY: Record<Channel, number> = {
  email: 20,
  sms: 20,
  push: 20,
  webhook: 20,
  in_app: 50,
}
const projectDir = fileURLToPath(new URL('..', import.meta.url))
const here = fileURLToPath(new URL('.', import.meta.url))
const tmp = mkdtempSync(join(tmpdir(), 'notifications-bench-'))
const recipients = Array.from({ length: RECIPIENTS }, (_, i) => `bench-${i}`)
const perRound = EVENTS * RECIPIENTS * CHANNELS.length

type Measured = {
  ms: number
  latencies: [Channel, number][]
  cpu: number
  generatorCpu: number
  rss: number | null
  relayLagMs?: number[]
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}
function rssBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : null
  } catch {
    return null
  }
}
/** A process and its children (the service's worker processes), recursively. */
function tree(pid: number): number[] {
  let children: number[] = []
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
  } catch {
    // gone
  }
  return [pid, ...children.flatMap(tree)]
}
const treeCpu = (pids: number[]) =>
  pids.flatMap(tree).reduce((sum, pid) => sum + cpuSeconds(pid), 0)

// Every child dies with this process, whatever ends it (a failed round included).
const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})
let stopping = false

// ---------------------------------------------------------------------------------------------
const redisServer = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] })
const providersProcess = spawn(
  process.execPath,
  ['--import', 'tsx', join(here, 'bench-providers.ts')],
  { stdio: ['ignore', 'pipe', 'inherit'] }
)
children.add(providersProcess)
const [line] = (await once(providersProcess.stdout, 'data')) as [Buffer]
const urls = JSON.parse(line.toString()) as ProviderUrls

// The service, built (pnpm bench builds first): the API process and its WORKERS workers.
const port = await freePort()
const serviceDb = join(tmp, 'notifications.db')
const service = spawn(
  process.execPath,
  ['--enable-source-maps', join(projectDir, 'dist/main.js')],
  {
    env: {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DB_FILE: serviceDb,
      REDIS_URL: redisServer.url,
      WORKERS: String(WORKERS),
      SMTP_URLS: urls.smtp,
      SMS_PROVIDER_URLS: urls.sms,
      PUSH_PROVIDER_URLS: urls.push,
      WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
      OUTBOX_POLL_MS: '20',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  }
)
children.add(service)
service.once('exit', (code, signal) => {
  if (stopping) return
  process.stderr.write(`the service exited during the run (code ${code}, signal ${signal})\n`)
  process.exit(1)
})
const base = `http://127.0.0.1:${port}`
for (let i = 0; ; i++) {
  if ((await fetch(`${base}/healthz`).catch(() => undefined))?.ok) break
  if (i > 200) throw new Error('the service did not start')
  await new Promise((resolve) => setTimeout(resolve, 100))
}
for (const id of recipients) {
  await fetch(`${base}/v1/subscribers/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `${id}@example.com`,
      phone: '+33612345678',
      pushTokens: [`token-${id}`],
    }),
  })
  await fetch(`${base}/v1/subscribers/${id}/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: `${urls.webhook}/hooks/${id}` }),
  })
}
const serviceReader = new Database(serviceDb, { readonly: true, fileMustExist: true })
serviceReader.pragma('busy_timeout = 10000')

// The comparators: worker processes per mode, and the producer side here.
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null })
const comparatorPrefix = `bench-${randomUUID().slice(0, 8)}`
async function startComparator(mode: 'per-channel' | 'one-queue' | 'direct') {
  const processes: ChildProcess[] = []
  const done: [Channel, number][] = []
  const failed: string[] = []
  for (let i = 0; i < (mode === 'direct' ? 1 : WORKERS); i++) {
    const child = fork(join(here, 'bare-worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        MODE: mode,
        PROVIDER_URLS: JSON.stringify(urls),
        CONCURRENCY: JSON.stringify(CONCURRENCY),
        QUEUE_PREFIX: comparatorPrefix,
        REDIS_URL: redisServer.url,
        INBOX_FILE: join(tmp, `bare-inbox-${mode}.db`),
      },
    })
    child.on('message', (message: { done?: [Channel, number][]; failed?: string[] }) => {
      if (message.done) done.push(...message.done)
      if (message.failed) failed.push(...message.failed)
    })
    children.add(child)
    await once(child, 'message')
    processes.push(child)
  }
  const queues = new Map<string, Queue>()
  const queueFor = (channel: Channel) => {
    const name = mode === 'per-channel' ? `{bare-${channel}}` : '{bare-all}'
    if (!queues.has(name))
      queues.set(name, new Queue(name, { connection: redis, prefix: comparatorPrefix }))
    return queues.get(name)!
  }
  return {
    processes,
    done,
    failed,
    async produce(deliveries: BareDelivery[]) {
      if (mode === 'direct') {
        processes[0]!.send({ deliveries })
        return
      }
      const byQueue = new Map<Queue, BareDelivery[]>()
      for (const d of deliveries)
        byQueue.set(queueFor(d.channel), [...(byQueue.get(queueFor(d.channel)) ?? []), d])
      await Promise.all(
        [...byQueue].map(([queue, list]) =>
          queue.addBulk(
            list.map((d) => ({
              name: d.channel,
              data: d,
              opts: { jobId: d.key, removeOnComplete: true },
            }))
          )
        )
      )
    },
    async stop() {
      await Promise.all(
        processes.map(async (p) => {
          const exited = once(p, 'exit')
          p.kill('SIGTERM')
          await exited
        })
      )
      await Promise.all([...queues.values()].map((q) => q.close()))
    },
  }
}
const comparators = {
  'bullmq-per-channel': await startComparator('per-channel'),
  'bullmq-one-queue': await startComparator('one-queue'),
  direct: await startComparator('direct'),
}

async function measureService(round: number): Promise<Measured> {
  const pids = [service.pid!]
  const cpu0 = treeCpu(pids)
  const gen0 = process.cpuUsage()
  const start = Date.now()
  const ids: string[] = []
  // 16 requests in flight: the producer is not what the round measures.
  let next = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < EVENTS) {
        const i = next++
        const res = await fetch(`${base}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'bench.event', recipients, data: { round, i } }),
        })
        if (res.status !== 202) throw new Error(`POST /v1/events answered ${res.status}`)
        ids.push(((await res.json()) as { id: string }).id)
      }
    })
  )
  const count = serviceReader.prepare(
    `SELECT count(*) AS n, max(updated_at) AS last FROM deliveries WHERE status = 'sent' AND event_id IN (SELECT value FROM json_each(?))`
  )
  let last: number
  for (;;) {
    const row = count.get(JSON.stringify(ids)) as { n: number; last: number | null }
    if (row.n >= perRound) {
      last = row.last!
      break
    }
    if (Date.now() - start > 600_000)
      throw new Error(`round ${round}: ${row.n}/${perRound} delivered after 10 min`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const generator = process.cpuUsage(gen0)
  const rows = serviceReader
    .prepare(
      `SELECT d.channel AS channel, l.at - e.accepted_at AS ms FROM delivery_log l JOIN deliveries d ON d.id = l.delivery_id JOIN events e ON e.id = d.event_id WHERE l.status = 'sent' AND e.id IN (SELECT value FROM json_each(?))`
    )
    .all(JSON.stringify(ids)) as { channel: Channel; ms: number }[]
  const lags = serviceReader
    .prepare(
      `SELECT min(d.created_at) - e.accepted_at AS ms FROM deliveries d JOIN events e ON e.id = d.event_id WHERE e.id IN (SELECT value FROM json_each(?)) GROUP BY e.id`
    )
    .all(JSON.stringify(ids)) as { ms: number }[]
  return {
    ms: last - start,
    latencies: rows.map((r) => [r.channel, r.ms]),
    cpu: treeCpu(pids) - cpu0,
    generatorCpu: (generator.user + generator.system) / 1e6,
    rss: tree(service.pid!).reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0),
    relayLagMs: lags.map((l) => l.ms),
  }
}

/** Where a subscriber is reached on a channel: the same addresses the service's subscribers have. */
function addressOf(id: string, channel: Channel): string {
  if (channel === 'email') return `${id}@example.com`
  if (channel === 'sms') return '+33612345678'
  if (channel === 'push') return `token-${id}`
  return id
}

async function measureComparator(name: keyof typeof comparators, round: number): Promise<Measured> {
  const comparator = comparators[name]
  comparator.done.length = 0
  comparator.failed.length = 0
  const pids = comparator.processes.map((p) => p.pid!)
  const cpu0 = treeCpu(pids)
  const gen0 = process.cpuUsage()
  const start = Date.now()
  // The same deliveries as the service's round, produced in batches of one event each.
  for (let i = 0; i < EVENTS; i++) {
    const t0 = Date.now()
    await comparator.produce(
      recipients.flatMap((id) =>
        CHANNELS.map((channel) => ({
          key: `${name}-${round}-${i}-${id}-${channel}`,
          channel,
          to: addressOf(id, channel),
          t0,
        }))
      )
    )
  }
  while (comparator.done.length + comparator.failed.length < perRound) {
    if (Date.now() - start > 600_000)
      throw new Error(`${name} round ${round}: ${comparator.done.length}/${perRound}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const generator = process.cpuUsage(gen0)
  if (comparator.failed.length > 0) {
    throw new Error(
      `${name} round ${round}: ${comparator.failed.length} deliveries failed, e.g. ${comparator.failed[0]}`
    )
  }
  return {
    ms: Date.now() - start,
    latencies: [...comparator.done],
    cpu: treeCpu(pids) - cpu0,
    generatorCpu: (generator.user + generator.system) / 1e6,
    rss: pids.reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0),
  }
}

const targets = ['notifications', 'bullmq-per-channel', 'bullmq-one-queue', 'direct'] as const
type TargetName = (typeof targets)[number]
const measured = new Map<TargetName, Measured[]>(targets.map((t) => [t, []]))
// One warm-up pass (JIT, connections, SQLite pages), then the measured rounds, rotated.
for (const target of targets) {
  if (target === 'notifications') await measureService(0)
  else await measureComparator(target, 0)
}
for (let round = 1; round <= ROUNDS; round++) {
  for (const target of roundOrder([...targets], round)) {
    const result =
      target === 'notifications'
        ? await measureService(round)
        : await measureComparator(target, round)
    measured.get(target)!.push(result)
    process.stderr.write(
      `round ${round} ${target}: ${Math.round((perRound / result.ms) * 1000)} deliveries/s\n`
    )
  }
}

function roundResult(m: Measured, round: number): RoundResult {
  const sorted = m.latencies.map(([, ms]) => ms).sort((a, b) => a - b)
  return {
    round,
    durationSeconds: m.ms / 1000,
    requests: perRound,
    requestsPerSecond: (perRound / m.ms) * 1000,
    latencyMs: {
      p50: percentile(sorted, 50),
      p97_5: percentile(sorted, 97.5),
      p99: percentile(sorted, 99),
    },
    errors: 0,
    statuses: { sent: perRound },
    unexpectedStatuses: {},
    cpuSeconds: { target: m.cpu, generator: m.generatorCpu },
    rssBytes: m.rss,
  }
}

const baseline = measured.get('bullmq-per-channel')!
const results: TargetResult[] = targets.map((name) => {
  const list = measured.get(name)!
  const rounds = list.map((m, i) => roundResult(m, i + 1))
  const rps = rounds.map((r) => r.requestsPerSecond)
  const baseRounds = baseline.map((m, i) => roundResult(m, i + 1))
  return {
    name,
    kind:
      name === 'notifications' ? 'subject' : name === 'bullmq-per-channel' ? 'baseline' : 'peer',
    rounds,
    requestsPerSecond: { median: median(rps), min: Math.min(...rps), max: Math.max(...rps) },
    latencyMs: {
      p50: median(rounds.map((r) => r.latencyMs.p50)),
      p97_5: median(rounds.map((r) => r.latencyMs.p97_5)),
      p99: median(rounds.map((r) => r.latencyMs.p99)),
    },
    errors: 0,
    cpuCores: {
      target: median(rounds.map((r) => r.cpuSeconds.target! / r.durationSeconds)),
      generator: median(rounds.map((r) => r.cpuSeconds.generator! / r.durationSeconds)),
    },
    cpuMicrosPerRequest: median(rounds.map((r) => (r.cpuSeconds.target! / r.requests) * 1e6)),
    rssBytes: Math.max(...rounds.map((r) => r.rssBytes ?? 0)),
    ratio: {
      requestsPerSecond: pairedRatio(
        rps,
        baseRounds.map((r) => r.requestsPerSecond)
      ),
      p99: pairedRatio(
        rounds.map((r) => r.latencyMs.p99),
        baseRounds.map((r) => r.latencyMs.p99)
      ),
    },
  }
})

/** p99 per channel over every round of a target, for the notes. */
function perChannelP99(name: TargetName): string {
  const all = measured.get(name)!.flatMap((m) => m.latencies)
  return CHANNELS.map((channel) => {
    const sorted = all
      .filter(([c]) => c === channel)
      .map(([, ms]) => ms)
      .sort((a, b) => a - b)
    return `${channel} ${percentile(sorted, 99)} ms`
  }).join(', ')
}
const lags = measured
  .get('notifications')!
  .flatMap((m) => m.relayLagMs ?? [])
  .sort((a, b) => a - b)
const subject = results[0]!
const ratio = subject.ratio?.requestsPerSecond
const notes = [
  `Deliveries per round: ${EVENTS} events x ${RECIPIENTS} recipients x ${CHANNELS.length} channels = ${perRound}; ${WORKERS} worker processes per target; concurrency per channel ${JSON.stringify(CONCURRENCY)}.`,
  `Target: notifications deliveries/s >= 0.7x bullmq-per-channel. Measured: ${ratio ? `${ratio.median.toFixed(2)}x (rounds ${ratio.min.toFixed(2)}-${ratio.max.toFixed(2)})` : 'n/a'}: ${ratio && ratio.median >= 0.7 ? 'met' : 'NOT met'}.`,
  `Outbox relay lag (event accepted -> its deliveries queued in Redis): p50 ${percentile(lags, 50)} ms, p99 ${percentile(lags, 99)} ms over ${lags.length} events.`,
  ...targets.map((name) => `p99 end to end per channel, ${name}: ${perChannelP99(name)}.`),
  'Latency is from the event accepted (service) or the job enqueued (comparators) to the provider answer; "requests" are deliveries. Target CPU counts every process of the target (API + workers, or the bare workers); the providers run in a process of their own.',
]

const environment = await describeEnvironment(projectDir)
const result: BenchResult = {
  project: 'notifications',
  scenario: 'fan-out',
  description: `Fan-out throughput and end-to-end latency: ${EVENTS} events to ${RECIPIENTS} recipients on 5 channels per round, the service against bare BullMQ workers making the same provider calls (a queue per channel, one queue, and direct send)`,
  date: new Date().toISOString(),
  command: `pnpm --filter @kit/notifications bench${smoke ? ' --smoke' : ''}`,
  smoke,
  tool: 'fan-out driver (benchmarks/run.ts)',
  connections: null,
  durationSeconds: median(subject.rounds.map((r) => r.durationSeconds)),
  pipelining: null,
  warmupSeconds: null,
  orderRotated: true,
  rounds: ROUNDS,
  expectedStatuses: [],
  ...environment,
  targets: results,
  notes,
}
const { file } = await saveResult(join(projectDir, 'benchmarks'), result)
process.stderr.write(`${notes.join('\n')}\nsaved ${file}\n`)

stopping = true
for (const comparator of Object.values(comparators)) await comparator.stop()
serviceReader.close()
service.kill('SIGTERM')
await once(service, 'exit')
providersProcess.kill('SIGTERM')
await redis.quit()
await redisServer.stop()
