/**
 * The task queue's benchmark (issue 13, "Benchmark"): the service against bare BullMQ doing the
 * same thing, interleaved round by round (each round starts with the other side), every side in
 * a child process of its own, with the CPU of every process per job:
 *
 *   enqueue-single     POST /api/jobs from 50 connections (wrk) vs bare queue.add, 50 callers
 *   enqueue-bulk       POST /api/jobs/bulk (100 jobs) vs bare addBulk(100), 50 callers
 *   worker-throughput  a prefilled queue drained by the worker process vs a bare Worker, c=1/10/50
 *   end-to-end         a steady 1,000 jobs/s producer; p50/p99 from add to completion
 *   fairness           a noisy tenant's burst and quiet tenants' trickle: p99 wait, fair vs FIFO
 *
 *   pnpm --filter @kit/task-queue bench                    # everything (about 15 min)
 *   pnpm --filter @kit/task-queue bench --smoke            # the wiring, in about a minute
 *   pnpm --filter @kit/task-queue bench --scenario fairness --rounds 5
 *
 * Writes benchmarks/sections/queue.md and benchmarks/data/<date>-queue.json, regenerates
 * REPORT.md. A smoke run prints its section and saves nothing.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { describeEnvironment, findWrk, renderReport, runWrk } from '@kit/bench'
import { queueScenarios, scenarios } from '@kit/loadtests/scenarios/task-queue'
import { startRedisServer } from '@kit/testing'
import { Queue, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { loadConfig } from '../src/config.ts'
import { createQueueService } from '../src/queue-service.ts'
import {
  bareResult,
  processCpu,
  redisCpu,
  startApi,
  startBare,
  startBareHttp,
  startServiceWorker,
  type Child,
} from './processes.ts'
import { renderSection, type Measurement, type ScenarioReport } from './section.ts'

const projectDir = fileURLToPath(new URL('..', import.meta.url))
const benchmarksDir = join(projectDir, 'benchmarks')
const SCENARIOS = [
  'enqueue-single',
  'enqueue-bulk',
  'worker-throughput',
  'end-to-end',
  'fairness',
] as const
type Name = (typeof SCENARIOS)[number]

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    scenario: { type: 'string', multiple: true },
    rounds: { type: 'string' },
  },
})
const smoke = args.smoke ?? false
const selected = (args.scenario ?? [...SCENARIOS]).flatMap((s) => s.split(',')) as Name[]
for (const name of selected) {
  if (!SCENARIOS.includes(name))
    throw new Error(`unknown scenario ${name}; one of ${SCENARIOS.join(', ')}`)
}
const rounds = args.rounds ? Number(args.rounds) : smoke ? 1 : 5
if (!smoke && rounds < 5) throw new Error('at least 5 rounds (or --smoke)')
const command = [
  'pnpm --filter @kit/task-queue bench',
  ...(smoke ? ['--smoke'] : []),
  ...(args.scenario ?? []).map((s) => `--scenario ${s}`),
  ...(args.rounds ? [`--rounds ${args.rounds}`] : []),
].join(' ')
/** Seconds a timed load lasts. */
const seconds = (full: number) => (smoke ? Math.min(2, full) : full)
const log = (line: string) => process.stderr.write(`${line}\n`)

const QUEUE = 'bench'
const PREFIX = `{task-queue:${QUEUE}}`
const redisServer = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] })
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null })
const queue = new Queue(QUEUE, { connection: redis, prefix: PREFIX })
const base = { REDIS_URL: redisServer.url, QUEUE_NAME: QUEUE }

/** Each round starts with the side that went second in the round before. */
function order<T>(sides: T[], round: number): T[] {
  return round % 2 === 1 ? sides : [...sides].reverse()
}

async function fresh(): Promise<void> {
  await redis.flushall()
}

async function cpuOf(children: Record<string, Child | undefined>) {
  const out: Record<string, number> = { redis: await redisCpu(redis) }
  for (const [name, child] of Object.entries(children))
    if (child) out[name] = await processCpu(child.pid)
  return out
}
function diff(after: Record<string, number>, before: Record<string, number>) {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]))
}

async function drained(): Promise<void> {
  for (;;) {
    const c = await queue.getJobCounts('wait', 'active', 'prioritized', 'delayed')
    if (Object.values(c).every((n) => n === 0)) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/** HTTP enqueue (wrk) against bare adds from 50 callers. */
async function enqueue(name: 'enqueue-single' | 'enqueue-bulk'): Promise<ScenarioReport> {
  const scenario = scenarios[name]!
  const wrk = findWrk()
  if (!wrk) throw new Error('wrk is needed for the HTTP side (apt-get install wrk)')
  const perRequest = scenario.request.jobsPerRequest
  const apis = {
    service: await startApi(projectDir, base),
    ...(name === 'enqueue-single' && {
      'service, no batching': await startApi(projectDir, { ...base, BATCH_ENQUEUE: 'false' }),
    }),
    // The HTTP ceiling: the same requests answered with no queue behind them.
    'bare Hono, no queue': await startBareHttp(projectDir, { ...base, QUEUE_PREFIX: PREFIX }),
    // The stack without the kit: the same routes awaiting queue.add / addBulk, nothing else.
    'bare Hono + BullMQ': await startBareHttp(
      projectDir,
      { ...base, QUEUE_PREFIX: PREFIX },
      'http-add'
    ),
  }
  const sides = [...Object.keys(apis), 'bare BullMQ']
  const measured: Record<string, Measurement[]> = Object.fromEntries(sides.map((s) => [s, []]))
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const side of order(sides, round)) {
        await fresh()
        const duration = seconds(scenario.node.durationSeconds)
        if (side === 'bare BullMQ') {
          const bare = await startBare(projectDir, {
            ...base,
            QUEUE_PREFIX: PREFIX,
            MODE: name === 'enqueue-single' ? 'add' : 'add-bulk',
            CONCURRENCY: String(scenario.node.connections),
            BATCH: String(perRequest),
            DURATION_MS: String(duration * 1000),
          })
          const before = await cpuOf({})
          const result = await bareResult(bare)
          const cpu = diff(await cpuOf({}), before)
          await bare.stop()
          measured[side]!.push({
            jobsPerSecond: result.jobs / result.seconds,
            jobs: result.jobs,
            cpu: { producer: result.cpuSeconds, redis: cpu.redis! },
          })
        } else {
          const api = apis[side as keyof typeof apis]!
          const before = await cpuOf({ api })
          const { result, cpuSeconds } = await runWrk({
            bin: wrk,
            url: api.url,
            template: {
              method: 'POST',
              path: scenario.request.path,
              headers: scenario.request.headers,
              body: JSON.stringify(scenario.request.body),
            },
            connections: scenario.node.connections,
            threads: 2,
            durationSeconds: duration,
          })
          const cpu = diff(await cpuOf({ api }), before)
          const ok = result.statuses['201'] ?? 0
          if (ok !== result.requests)
            throw new Error(`${side}: ${JSON.stringify(result.statuses)} (only 201 is a success)`)
          const jobs = ok * perRequest
          measured[side]!.push({
            jobsPerSecond: jobs / result.durationSeconds,
            jobs,
            latencyMs: { p50: result.latencyMs.p50, p99: result.latencyMs.p99 },
            cpu: { api: cpu.api!, wrk: cpuSeconds, redis: cpu.redis! },
          })
        }
        const last = measured[side]!.at(-1)!
        log(
          `${name} round ${round}/${rounds} ${side.padEnd(22)} ${Math.round(last.jobsPerSecond).toLocaleString('en-US').padStart(8)} jobs/s`
        )
      }
    }
  } finally {
    await Promise.all(Object.values(apis).map((api) => api.stop()))
  }
  const ceiling =
    ' Bare Hono, no queue: the same requests answered 201 with ids by a bare Hono app with nothing behind it, the most HTTP requests this machine serves (its CPU shows as api). Bare Hono + BullMQ: the same routes awaiting queue.add (addBulk) and nothing else, the stack without the kit.'
  return {
    name,
    description: scenario.description + ceiling,
    measured,
    baseline: 'bare BullMQ',
    judged: 'service',
    http: { noQueue: 'bare Hono, no queue', bareStack: 'bare Hono + BullMQ' },
  }
}

/** A prefilled queue drained by one worker process, per concurrency. */
async function workerThroughput(): Promise<ScenarioReport[]> {
  const { concurrencies, jobs } = queueScenarios.workerThroughput
  const reports: ScenarioReport[] = []
  for (const concurrency of concurrencies) {
    const count = smoke ? 1000 : jobs[concurrency as keyof typeof jobs]
    const sides = ['service worker', 'bare Worker']
    const measured: Record<string, Measurement[]> = Object.fromEntries(sides.map((s) => [s, []]))
    for (let round = 1; round <= rounds; round++) {
      for (const side of order(sides, round)) {
        await fresh()
        await queue.pause()
        const env = {
          ...base,
          QUEUE_PREFIX: PREFIX,
          CONCURRENCY: String(concurrency),
          WORKER_CONCURRENCY: String(concurrency),
        }
        const worker =
          side === 'bare Worker'
            ? await startBare(projectDir, { ...env, MODE: 'worker' })
            : await startServiceWorker(projectDir, env)
        const { toJobOptions } = await import('../src/jobs/job-requests.ts')
        const { randomUUID } = await import('node:crypto')
        for (let i = 0; i < count; i += 1000) {
          await queue.addBulk(
            Array.from({ length: Math.min(1000, count - i) }, () => ({
              name: 'noop',
              data: {},
              opts: toJobOptions({ name: 'noop', data: {} }, randomUUID(), {
                keepCompleted: 1000,
                keepCompletedSeconds: 86_400,
              }),
            }))
          )
        }
        const before = await cpuOf({ worker })
        const started = performance.now()
        await queue.resume()
        await drained()
        const elapsed = (performance.now() - started) / 1000
        const cpu = diff(await cpuOf({ worker }), before)
        await worker.stop()
        measured[side]!.push({
          jobsPerSecond: count / elapsed,
          jobs: count,
          cpu: { worker: cpu.worker!, redis: cpu.redis! },
        })
        log(
          `worker c=${concurrency} round ${round}/${rounds} ${side.padEnd(16)} ${Math.round(
            count / elapsed
          )
            .toLocaleString('en-US')
            .padStart(8)} jobs/s`
        )
      }
    }
    reports.push({
      name: `worker-throughput-c${concurrency}`,
      description: `${count.toLocaleString('en-US')} noop jobs, queue paused while the worker starts and the jobs are added, then resumed: jobs ÷ time to drain. The service's worker process (dist/worker-main.js: named backoffs, deadlines (TimeoutWorker), dead-letter hook, fair dispatcher, per-job metrics, BullMQ metrics on) against a bare BullMQ Worker with a no-op processor, both at concurrency ${concurrency}.`,
      measured,
      baseline: 'bare Worker',
    })
  }
  return reports
}

/** A steady producer; latency from add to completion, per worker side. */
async function endToEnd(): Promise<ScenarioReport> {
  const { ratePerSecond, durationSeconds, workerConcurrency } = queueScenarios.endToEnd
  const sides = ['service worker', 'bare Worker']
  const measured: Record<string, Measurement[]> = Object.fromEntries(sides.map((s) => [s, []]))
  for (let round = 1; round <= rounds; round++) {
    for (const side of order(sides, round)) {
      await fresh()
      const env = {
        ...base,
        QUEUE_PREFIX: PREFIX,
        CONCURRENCY: String(workerConcurrency),
        WORKER_CONCURRENCY: String(workerConcurrency),
      }
      const worker =
        side === 'bare Worker'
          ? await startBare(projectDir, { ...env, MODE: 'worker' })
          : await startServiceWorker(projectDir, env)
      const duration = seconds(durationSeconds)
      const before = await cpuOf({ worker })
      const producer = await startBare(projectDir, {
        ...env,
        MODE: 'produce',
        RATE: String(ratePerSecond),
        DURATION_MS: String(duration * 1000),
        KEEP_COMPLETED: '1000000',
      })
      const produced = await bareResult(producer)
      await producer.stop()
      await drained()
      const cpu = diff(await cpuOf({ worker }), before)
      await worker.stop()
      const completed: Job[] = await queue.getCompleted(0, -1)
      const latencies = completed
        .map((job) => job.finishedOn! - job.timestamp)
        .sort((a, b) => a - b)
      measured[side]!.push({
        jobsPerSecond: produced.jobs / produced.seconds,
        jobs: produced.jobs,
        completed: completed.length,
        latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
        cpu: { worker: cpu.worker!, producer: produced.cpuSeconds, redis: cpu.redis! },
      })
      log(
        `end-to-end round ${round}/${rounds} ${side.padEnd(16)} p50 ${percentile(latencies, 50)} ms p99 ${percentile(latencies, 99)} ms, ${completed.length}/${produced.jobs}`
      )
    }
  }
  return {
    name: 'end-to-end',
    description: `A producer process adding noop jobs at a steady ${ratePerSecond.toLocaleString('en-US')}/s for ${seconds(durationSeconds)} s (bare queue.add, paced), one worker process at concurrency ${workerConcurrency}: latency = finishedOn − timestamp of every job, the service's worker against a bare Worker.`,
    measured,
    baseline: 'bare Worker',
    latencyTarget: true,
  }
}

/** Quiet tenants beside a noisy one: wait per tenant, fair scheduling against FIFO. */
async function fairness(): Promise<ScenarioReport> {
  const f = queueScenarios.fairness
  const noisyJobs = smoke ? 500 : f.noisyJobs
  const sides = ['fair', 'FIFO']
  const measured: Record<string, Measurement[]> = Object.fromEntries(sides.map((s) => [s, []]))
  for (let round = 1; round <= rounds; round++) {
    for (const side of order(sides, round)) {
      await fresh()
      const env = {
        ...base,
        WORKER_CONCURRENCY: String(f.workerConcurrency),
        FAIR_SCHEDULING: String(side === 'fair'),
        KEEP_COMPLETED: '1000000',
      }
      const worker = await startServiceWorker(projectDir, env)
      const config = loadConfig(env)
      const producerRedis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 })
      const service = createQueueService({ redis: producerRedis, config })
      const before = await cpuOf({ worker })
      const job = (tenant: string) => ({
        name: 'demo.simulate' as const,
        data: { durationMs: f.jobDurationMs, failTimes: 0, failPermanently: false },
        tenant,
      })
      for (let i = 0; i < noisyJobs; i += 500) {
        await service.enqueueBulk(
          Array.from({ length: Math.min(500, noisyJobs - i) }, () => job('noisy'))
        )
      }
      const quiet = Array.from({ length: f.quietTenants }, (_, i) => `quiet-${i + 1}`)
      const until = performance.now() + seconds(f.durationSeconds) * 1000
      while (performance.now() < until) {
        await Promise.all(quiet.map((tenant) => service.enqueue(job(tenant))))
        await new Promise((resolve) => setTimeout(resolve, 1000 / f.quietRatePerSecond))
      }
      await drained()
      for (;;) {
        if ((await service.fair.backlog()) === 0) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await drained()
      const cpu = diff(await cpuOf({ worker }), before)
      await worker.stop()
      await service.close()
      producerRedis.disconnect()
      const completed: Job[] = await queue.getCompleted(0, -1)
      const waits = (tenant: (t: string) => boolean) =>
        completed
          .filter((j) => tenant(String((j.opts as { tenant?: string }).tenant)))
          .map((j) => j.processedOn! - j.timestamp)
          .sort((a, b) => a - b)
      const quietWaits = waits((t) => t.startsWith('quiet'))
      const noisyWaits = waits((t) => t === 'noisy')
      measured[side]!.push({
        jobsPerSecond: completed.length,
        jobs: completed.length,
        latencyMs: { p50: percentile(quietWaits, 50), p99: percentile(quietWaits, 99) },
        noisyLatencyMs: { p50: percentile(noisyWaits, 50), p99: percentile(noisyWaits, 99) },
        cpu: { worker: cpu.worker!, redis: cpu.redis! },
      })
      log(
        `fairness round ${round}/${rounds} ${side.padEnd(5)} quiet wait p50 ${percentile(quietWaits, 50)} p99 ${percentile(quietWaits, 99)} ms; noisy p99 ${percentile(noisyWaits, 99)} ms`
      )
    }
  }
  return {
    name: 'fairness',
    description: `One tenant enqueues ${noisyJobs.toLocaleString('en-US')} jobs at once, then ${f.quietTenants} quiet tenants each send ${f.quietRatePerSecond} jobs/s for ${seconds(f.durationSeconds)} s; every job works ${f.jobDurationMs} ms; one worker process at concurrency ${f.workerConcurrency}. Wait = processedOn − the time the producer enqueued it (its backlog time included). fair: FAIR_SCHEDULING=true (per-tenant round robin, window ${2 * f.workerConcurrency}); FIFO: the same jobs straight into the queue.`,
    measured,
    baseline: 'FIFO',
    fairness: true,
  }
}

const date = new Date().toISOString()
const environment = await describeEnvironment(projectDir)
environment.versions['redis-server'] =
  /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown'
environment.versions.bullmq ??= (
  JSON.parse(await readFile(join(projectDir, 'node_modules/bullmq/package.json'), 'utf8')) as {
    version: string
  }
).version
const reports: ScenarioReport[] = []
try {
  for (const name of selected) {
    if (name === 'enqueue-single' || name === 'enqueue-bulk') reports.push(await enqueue(name))
    if (name === 'worker-throughput') reports.push(...(await workerThroughput()))
    if (name === 'end-to-end') reports.push(await endToEnd())
    if (name === 'fairness') reports.push(await fairness())
  }
} finally {
  await queue.close()
  await redis.quit()
  await redisServer.stop()
}

const section = renderSection(reports, { date, command, smoke, rounds, ...environment })
if (smoke) {
  process.stderr.write(`\n${section}\n(smoke run: nothing saved)\n`)
} else {
  await mkdir(join(benchmarksDir, 'sections'), { recursive: true })
  await mkdir(join(benchmarksDir, 'data'), { recursive: true })
  await writeFile(join(benchmarksDir, 'sections', 'queue.md'), `${section}\n`)
  await writeFile(
    join(benchmarksDir, 'data', `${date.slice(0, 10)}-queue.json`),
    `${JSON.stringify({ date, command, rounds, ...environment, reports }, null, 2)}\n`
  )
  await renderReport(benchmarksDir)
  process.stderr.write('wrote benchmarks/sections/queue.md and REPORT.md\n')
}
