/**
 * The rate limiter's benchmark: the kit's middleware on each algorithm and
 * backend against a bare Hono app and rate-limiter-flexible wired into the same app, all requests
 * passing and all rejected, interleaved round by round; then the accuracy-against-cost table and
 * the bursty-arrival chart. Results go to benchmarks/results, REPORT.md is regenerated.
 *
 *   pnpm --filter @kit/rate-limiter bench                          # everything (about 30 min)
 *   pnpm --filter @kit/rate-limiter bench --smoke                  # the wiring, in about 2 min
 *   pnpm --filter @kit/rate-limiter bench --scenario pass-redis    # some scenarios (repeatable;
 *                                                                  # `accuracy` is one of them)
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  describeEnvironment,
  pairedRatio,
  renderReport,
  requestMix,
  runBenchmark,
  saveResult,
  spawnTarget,
  type BenchResult,
  type BenchTarget,
  type CheckFunction,
  type Range,
  type RoundResult,
  type Scenario,
  type StartedTarget,
  type TargetResult,
} from '@kit/bench'
import { buildEntry, copyRuntimeAssets } from '@kit/build'
import { scenarios as loadScenarios } from '@kit/loadtests/scenarios/rate-limiter'
import { startRedisServer, type RedisServer } from '@kit/testing'
import { Redis } from 'ioredis'
import { ALGORITHMS } from '../src/limiter/index.ts'
import { measureAccuracy } from './accuracy.ts'
import { renderAccuracySection } from './accuracy-section.ts'
import { renderBurstyChart, simulateBursty } from './bursty-chart.ts'
import { passCheck, rejectedCheck, type AnnouncedPolicy } from './checks.ts'
import { POLICY_NAME, type ServerEnv } from './server-env.ts'

const projectDir = fileURLToPath(new URL('..', import.meta.url))
const benchmarksDir = join(projectDir, 'benchmarks')
const serverBundle = join(projectDir, 'dist', 'bench', 'limiter-server.js')

const SCENARIOS = [
  'pass-memory',
  'pass-redis',
  'pass-redis-clients',
  'rejected-memory',
  'rejected-redis',
  'accuracy',
] as const
type ScenarioName = (typeof SCENARIOS)[number]

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    scenario: { type: 'string', multiple: true },
    // Shorter runs while developing (at least 5 rounds; the report says what was run).
    rounds: { type: 'string' },
    duration: { type: 'string' },
    // Print the comparisons only (trying an idea), leaving results/ and REPORT.md alone.
    'no-save': { type: 'boolean', default: false },
  },
})
const smoke = args.smoke ?? false
const selected = (args.scenario ?? [...SCENARIOS]).flatMap((s) => s.split(','))
for (const name of selected) {
  if (!SCENARIOS.includes(name as ScenarioName)) {
    throw new Error(`unknown scenario ${JSON.stringify(name)}; one of ${SCENARIOS.join(', ')}`)
  }
}
const rounds = args.rounds === undefined ? undefined : Number(args.rounds)
const durationSeconds = args.duration === undefined ? undefined : Number(args.duration)
const command = [
  'pnpm --filter @kit/rate-limiter bench',
  ...(smoke ? ['--smoke'] : []),
  ...(args.scenario ?? []).map((s) => `--scenario ${s}`),
  ...(rounds === undefined ? [] : [`--rounds ${rounds}`]),
  ...(durationSeconds === undefined ? [] : [`--duration ${durationSeconds}`]),
].join(' ')

// The load shape and the quotas come from the scenario data k6 uses too.
const allPass = loadScenarios['all-pass']
const allRejected = loadScenarios['all-rejected']
if (allPass === undefined || allRejected === undefined) {
  throw new Error('@kit/loadtests/scenarios/rate-limiter lacks all-pass or all-rejected')
}
const passPolicy: AnnouncedPolicy = { name: POLICY_NAME, ...allPass.algorithmPolicy }
// The quota of one spent in setup, with a window of a week rather than all-rejected's hour:
// windows are aligned to epoch multiples, and one ending mid-run would let requests through.
const rejectedPolicy: AnnouncedPolicy = {
  name: POLICY_NAME,
  limit: allRejected.algorithmPolicy.limit,
  windowMs: 7 * 24 * 3_600_000,
}

/** Which targets answer through a limiter (and so must send the RateLimit fields), by URL. */
const limitedTargets = new Map<string, boolean>()

/** The limiter server with `env`, as a target; its Redis keys are its own. */
function limiterTarget(name: string, kind: BenchTarget['kind'], env: ServerEnv): BenchTarget {
  const spawned = spawnTarget({
    name,
    kind,
    entry: serverBundle,
    cwd: projectDir,
    env: { KEY_PREFIX: `bench:${name.replace(/[^\w.-]+/g, '-')}:`, ...env },
  })
  return {
    name,
    kind,
    async start() {
      const started = await spawned.start()
      limitedTargets.set(started.url, env.VARIANT !== 'bare')
      return started
    },
  }
}

const bare = (policy: AnnouncedPolicy) =>
  limiterTarget('bare-hono', 'baseline', { VARIANT: 'bare', LIMIT: String(policy.limit) })

const quota = (policy: AnnouncedPolicy) => ({
  LIMIT: String(policy.limit),
  WINDOW_MS: String(policy.windowMs),
})

/** Distinct client ids `pass-redis-clients` cycles through. */
const CLIENT_IDS = 10_000

const clientIds = Array.from({ length: CLIENT_IDS }, (_, i) => String(i))

/** Every request allowed; with `clients`, each carries the next of CLIENT_IDS X-Client-Id values. */
function passScenario(name: string, description: string, { clients = false } = {}): Scenario {
  return {
    name,
    description,
    ...allPass?.node,
    prepare(target) {
      return Promise.resolve({
        requests: requestMix(
          clients
            ? {
                path: '/limited',
                headers: { 'x-client-id': '{pick}' },
                pick: { values: clientIds, distribution: 'cycle' },
              }
            : { path: '/limited' }
        ),
        check: passCheck(limitedTargets.get(target.url) ? passPolicy : undefined),
      })
    },
  }
}

/** Sends requests until the key is over its quota (the first refusal also fills a block cache). */
async function spendQuota(target: StartedTarget, policy: AnnouncedPolicy): Promise<void> {
  for (let i = 0; i <= policy.limit; i++) {
    const res = await fetch(`${target.url}/limited`)
    await res.body?.cancel()
  }
}

function rejectedScenario(name: string, description: string): Scenario {
  return {
    name,
    description,
    ...allRejected?.node,
    async prepare(target) {
      const limited = limitedTargets.get(target.url) ?? false
      if (limited) await spendQuota(target, rejectedPolicy)
      const check: CheckFunction = limited ? rejectedCheck(rejectedPolicy) : passCheck(undefined)
      return { requests: requestMix({ path: '/limited' }), check }
    },
  }
}

type Plan = { scenario: Scenario; targets: BenchTarget[]; comparisons: Comparison[] }

/**
 * Targets compared with another one of the same run (req/s ratio, paired per round): against
 * one of the issue's targets when `atLeast` is set, else for reference.
 */
type Comparison = { subject: string | RegExp; other: string; atLeast?: number; label: string }

/** The kit's middleware (`kit/<label>`) and rate-limiter-flexible (`rlf/<label>`) as targets. */
const kit = (label: string, env: Omit<ServerEnv, 'VARIANT'>) =>
  limiterTarget(`kit/${label}`, 'subject', { ...env, VARIANT: 'kit' })
const rlf = (label: string, env: Omit<ServerEnv, 'VARIANT'>) =>
  limiterTarget(`rlf/${label}`, 'peer', { ...env, VARIANT: 'rlf' })

function plans(
  redisUrl: string | undefined
): Record<Exclude<ScenarioName, 'accuracy'>, () => Plan> {
  const memory = { BACKEND: 'memory' } as const
  const redis = { BACKEND: 'redis', REDIS_URL: redisUrl ?? 'redis://missing' } as const
  const pass = quota(passPolicy)
  const rejected = quota(rejectedPolicy)
  return {
    'pass-memory': () => ({
      scenario: passScenario(
        'pass-memory',
        `GET /limited, every request allowed (quota ${passPolicy.limit.toLocaleString('en-US')} per ${passPolicy.windowMs / 1000} s, one client IP): the kit's rateLimit middleware on each algorithm's memory limiter vs rate-limiter-flexible's RateLimiterMemory as a middleware in the same Hono app, the floor any limiting middleware pays (one that only sets the two draft fields with c.header, fixed values, and calls next()), and the bare app.`
      ),
      targets: [
        ...ALGORITHMS.map((ALGORITHM) =>
          kit(ALGORITHM, { ...memory, ALGORITHM, BLOCK_CACHE: 'false', ...pass })
        ),
        rlf('memory', { ...memory, ...pass }),
        limiterTarget('floor/headers-only', 'peer', { VARIANT: 'floor', ...pass }),
        bare(passPolicy),
      ],
      comparisons: [
        {
          subject: /^kit\/[a-z-]+$/,
          other: 'bare-hono',
          atLeast: 0.9,
          label: 'kit memory ≥ 0.9× bare Hono, rateLimit middleware',
        },
        {
          subject: /^kit\/[a-z-]+$/,
          other: 'rlf/memory',
          atLeast: 1.1,
          label: 'kit memory ≥ 1.1× rate-limiter-flexible memory, both as a middleware',
        },
        {
          subject: 'floor/headers-only',
          other: 'bare-hono',
          label:
            'the floor of any limiting middleware that sends the draft fields (a middleware and two fields, no decision)',
        },
        {
          subject: /^(kit\/[a-z-]+|rlf\/memory)$/,
          other: 'floor/headers-only',
          label: 'each limiting middleware against that floor',
        },
      ],
    }),
    'pass-redis': () => ({
      scenario: passScenario(
        'pass-redis',
        `GET /limited, every request allowed, on Redis (a private redis-server), one client IP over 50 connections: the kit's middleware on each algorithm's Redis limiter as the service runs it (coalescing: the consumes of one key in one event-loop turn share one script call; resilient wrapper, insurance, its store monitor, block cache; ioredis with enableAutoPipelining), the fixed window without coalescing (one script call per request, as every request of distinct keys makes), rate-limiter-flexible's RateLimiterRedis with the same client options with and without auto-pipelining, and the bare app.`
      ),
      targets: [
        ...ALGORITHMS.map((ALGORITHM) => kit(ALGORITHM, { ...redis, ALGORITHM, ...pass })),
        kit('fixed-window, no coalescing', {
          ...redis,
          ALGORITHM: 'fixed-window',
          COALESCE: 'false',
          ...pass,
        }),
        rlf('redis', { ...redis, AUTO_PIPELINING: 'false', BLOCK_CACHE: 'false', ...pass }),
        rlf('redis, auto-pipelining', { ...redis, BLOCK_CACHE: 'false', ...pass }),
        bare(passPolicy),
      ],
      comparisons: [
        {
          subject: /^kit\/[a-z-]+$/,
          other: 'rlf/redis, auto-pipelining',
          atLeast: 1.25,
          label: 'kit Redis ≥ 1.25× rate-limiter-flexible Redis, same auto-pipelined client',
        },
        {
          subject: /^kit\/[a-z-]+$/,
          other: 'rlf/redis',
          atLeast: 1.25,
          label: 'kit Redis ≥ 1.25× rate-limiter-flexible Redis on a plain client',
        },
        {
          subject: 'kit/fixed-window, no coalescing',
          other: 'rlf/redis, auto-pipelining',
          label: 'one script call per request on both sides (the case of distinct keys)',
        },
        {
          subject: 'kit/fixed-window',
          other: 'kit/fixed-window, no coalescing',
          label: 'what coalescing buys the kit on one hot key',
        },
        {
          subject: 'rlf/redis, auto-pipelining',
          other: 'rlf/redis',
          label: 'what auto-pipelining buys rate-limiter-flexible',
        },
      ],
    }),
    'pass-redis-clients': () => {
      const clients = { ...redis, CLIENT_KEY: 'x-client-id', ...pass } as const
      return {
        scenario: passScenario(
          'pass-redis-clients',
          `As pass-redis, but each request counts against the next of ${CLIENT_IDS.toLocaleString('en-US')} client ids (X-Client-Id, cycled), so the requests of one turn of the event loop are of different keys and coalescing has nothing to merge: the per-call cost of each limiter. Fixed window on both sides.`,
          { clients: true }
        ),
        targets: [
          kit('fixed-window', { ...clients, ALGORITHM: 'fixed-window' }),
          kit('fixed-window, no coalescing', {
            ...clients,
            ALGORITHM: 'fixed-window',
            COALESCE: 'false',
          }),
          rlf('redis', { ...clients, AUTO_PIPELINING: 'false', BLOCK_CACHE: 'false' }),
          rlf('redis, auto-pipelining', { ...clients, BLOCK_CACHE: 'false' }),
          bare(passPolicy),
        ],
        comparisons: [
          {
            subject: /^kit\//,
            other: 'rlf/redis, auto-pipelining',
            label:
              'the kit vs rate-limiter-flexible Redis on the same auto-pipelined client, many clients',
          },
          {
            subject: /^kit\//,
            other: 'rlf/redis',
            label: 'the kit vs rate-limiter-flexible Redis on a plain client, many clients',
          },
          {
            subject: 'kit/fixed-window',
            other: 'kit/fixed-window, no coalescing',
            label: 'what coalescing costs or buys when keys do not repeat',
          },
        ],
      }
    },
    'rejected-memory': () => ({
      scenario: rejectedScenario(
        'rejected-memory',
        `GET /limited from a client over its quota (1 per week, spent before measuring): every limited request is answered 429 with Retry-After, RateLimit fields and a problem+json body. The kit's fixed-window memory limiter with and without the resilient wrapper's block cache, rate-limiter-flexible's RateLimiterMemory, and the bare app (200).`
      ),
      targets: [
        kit('block-cache', { ...memory, BLOCK_CACHE: 'true', ...rejected }),
        kit('no-block-cache', { ...memory, BLOCK_CACHE: 'false', ...rejected }),
        rlf('memory', { ...memory, ...rejected }),
        bare(rejectedPolicy),
      ],
      comparisons: [
        BLOCK_CACHE_TARGET,
        {
          subject: /^kit\//,
          other: 'rlf/memory',
          label: 'the kit vs rate-limiter-flexible memory on refusals',
        },
      ],
    }),
    'rejected-redis': () => ({
      scenario: rejectedScenario(
        'rejected-redis',
        `GET /limited from a client over its quota (1 per week, spent before measuring), on Redis: every limited request is answered 429 with Retry-After, RateLimit fields and a problem+json body. The kit's fixed-window Redis limiter with and without the block cache, rate-limiter-flexible's RateLimiterRedis with inMemoryBlockOnConsumed (its README's block strategy) and without, all on the same auto-pipelined client options, and the bare app (200).`
      ),
      targets: [
        kit('block-cache', { ...redis, BLOCK_CACHE: 'true', ...rejected }),
        kit('no-block-cache', { ...redis, BLOCK_CACHE: 'false', ...rejected }),
        rlf('in-memory-block', { ...redis, BLOCK_CACHE: 'true', ...rejected }),
        rlf('redis', { ...redis, BLOCK_CACHE: 'false', ...rejected }),
        bare(rejectedPolicy),
      ],
      comparisons: [
        BLOCK_CACHE_TARGET,
        {
          subject: 'kit/block-cache',
          other: 'rlf/in-memory-block',
          label: "the kit's block cache vs rate-limiter-flexible's in-memory block",
        },
        {
          subject: 'kit/no-block-cache',
          other: 'rlf/redis',
          label: 'no block cache on either side',
        },
      ],
    }),
  }
}

const BLOCK_CACHE_TARGET: Comparison = {
  subject: 'kit/block-cache',
  other: 'bare-hono',
  atLeast: 0.8,
  label: 'rejected keys with the block cache ≥ 0.8× bare Hono',
}

function formatRatio(range: Range): string {
  const f = (n: number) => n.toFixed(2)
  return `${f(range.median)}× (${f(range.min)}–${f(range.max)})`
}

/** Requests served per second of the target's own CPU: what one core of it would serve. */
function requestsPerCpuSecond(round: RoundResult): number {
  const cpu = round.cpuSeconds.target
  return cpu === null || cpu <= 0 ? 0 : round.requests / cpu
}

/**
 * Each subject's paired ratio to the other target by `measure`, and how many meet `atLeast`.
 * A round without a CPU reading counts as 0 (not met), never as a guess.
 */
function judge(
  subjects: readonly TargetResult[],
  other: TargetResult,
  measure: (round: RoundResult) => number,
  atLeast: number | undefined
): { text: string; met: number } {
  const parts = subjects.map((subject) => {
    const ratio = pairedRatio(subject.rounds.map(measure), other.rounds.map(measure))
    if (ratio === null) return { met: false, text: `${subject.name} n/a` }
    const met = atLeast !== undefined && ratio.median >= atLeast
    return { met, text: `${subject.name} ${formatRatio(ratio)}` }
  })
  return { text: parts.map((p) => p.text).join('; '), met: parts.filter((p) => p.met).length }
}

function verdict(met: number, of: number): string {
  return met === of ? 'MET' : met === 0 ? 'NOT MET' : `MET by ${met} of ${of}`
}

/**
 * One note per comparison: each subject's paired req/s ratio to the other target, and the
 * verdict; then the same by requests per CPU-second of the target. The second reading matters
 * when the one-thread load generator saturates (about 1 core): every light target then runs at
 * the generator's pace and req/s ratios crowd around 1, while CPU per request still separates them.
 */
function comparisonNotes(result: BenchResult, comparisons: readonly Comparison[]): string[] {
  const byName = new Map(result.targets.map((t) => [t.name, t]))
  return comparisons.map((comparison) => {
    const other = byName.get(comparison.other)
    if (other === undefined) return `${comparison.label}: no target named ${comparison.other}`
    const subjects = result.targets.filter((t) =>
      typeof comparison.subject === 'string'
        ? t.name === comparison.subject
        : comparison.subject.test(t.name)
    )
    const { atLeast } = comparison
    const rps = judge(subjects, other, (r) => r.requestsPerSecond, atLeast)
    const perCpu = judge(subjects, other, requestsPerCpuSecond, atLeast)
    const byRps = `${rps.text} (median of the per-round req/s ratios to ${comparison.other}, min–max)`
    const byCpu = `${perCpu.text} (median of the per-round ratios of requests per target CPU-second)`
    if (atLeast === undefined) {
      return `For reference, ${comparison.label}: ${byRps}. Per CPU-second: ${byCpu}.`
    }
    return (
      `Target "${comparison.label}": **${verdict(rps.met, subjects.length)}** by req/s: ${byRps}. ` +
      `Per CPU-second of the target: ${verdict(perCpu.met, subjects.length)}: ${byCpu}.`
    )
  })
}

/** Builds the target server as production runs code: one bundle, the Lua scripts beside it. */
async function buildServer(): Promise<void> {
  await buildEntry({
    entry: 'benchmarks/limiter-server.ts',
    outfile: serverBundle,
    cwd: projectDir,
  })
  copyRuntimeAssets({ outDir: 'dist/bench', cwd: projectDir })
}

async function runScenarios(redisServer: RedisServer | undefined): Promise<void> {
  const available = plans(redisServer?.url)
  for (const name of SCENARIOS) {
    if (name === 'accuracy' || !selected.includes(name)) continue
    if (redisServer) {
      // Each scenario starts from an empty Redis (and its own key prefixes besides).
      const redis = new Redis(redisServer.url)
      await redis.flushall()
      await redis.quit()
    }
    const plan = available[name]()
    const result = await runBenchmark({
      project: 'rate-limiter',
      scenario: { ...plan.scenario, ...(durationSeconds && { durationSeconds }) },
      ...(rounds && { rounds }),
      targets: plan.targets,
      smoke,
      command,
      cwd: projectDir,
      notes: [
        "Every target is the same Hono app (benchmarks/limiter-app.ts, bundled) with one route and no other middleware (the demo service adds a request id, secure headers and metrics); only the limiter in front differs. Both limiters key by the client IP through the project's resolver.",
        ...(name.includes('redis')
          ? [
              'Redis clients (both limiters): @kit/redis createRedis role "request" (enableOfflineQueue false, maxRetriesPerRequest 1, connectTimeout 1000) without a per-command timeout, as the service runs it, enableAutoPipelining as the target name says.',
            ]
          : []),
      ],
    })
    // A pass run with a refusal (or the other way round) measured something else: never save it.
    const failing = result.targets.filter((t) => t.errors > 0)
    if (failing.length > 0) {
      throw new Error(
        `refusing to save ${name}: ${failing.map((t) => `${t.name} had ${t.errors} errors (${JSON.stringify(t.rounds.map((r) => r.unexpectedStatuses))})`).join('; ')}`
      )
    }
    result.notes.push(...comparisonNotes(result, plan.comparisons))
    const saved = args['no-save']
      ? 'not saved'
      : `saved ${(await saveResult(benchmarksDir, result)).file}`
    process.stderr.write(`${name}: ${saved}\n${result.notes.map((n) => `  - ${n}`).join('\n')}\n`)
    for (const t of result.targets) {
      process.stderr.write(
        `  ${t.name.padEnd(40)} ${Math.round(t.requestsPerSecond.median).toString().padStart(7)} req/s  ` +
          `${t.cpuMicrosPerRequest?.toFixed(1) ?? 'n/a'} CPU µs/req  p99 ${t.latencyMs.p99.toFixed(2)} ms\n`
      )
    }
  }
}

async function runAccuracy(redisServer: RedisServer): Promise<void> {
  const date = new Date().toISOString()
  const environment = await describeEnvironment(projectDir)
  const report = await measureAccuracy({ redisUrl: redisServer.url, smoke })
  const series = await simulateBursty()
  const section = renderAccuracySection(report, series, { date, command, smoke, ...environment })
  if (smoke) {
    // A smoke run checks the wiring; its figures never replace a measurement.
    process.stderr.write(`${section}\n`)
    return
  }
  await mkdir(join(benchmarksDir, 'charts'), { recursive: true })
  await mkdir(join(benchmarksDir, 'sections'), { recursive: true })
  await writeFile(join(benchmarksDir, 'charts', 'bursty-admitted.svg'), renderBurstyChart(series))
  await writeFile(join(benchmarksDir, 'sections', 'accuracy.md'), `${section}\n`)
  await renderReport(benchmarksDir)
  process.stderr.write(`accuracy: wrote sections/accuracy.md and charts/bursty-admitted.svg\n`)
}

process.stderr.write(`building the target server (${serverBundle})\n`)
await buildServer()
const needsRedis = selected.some((name) => name.includes('redis') || name === 'accuracy')
const redisServer = needsRedis ? await startRedisServer() : undefined
try {
  await runScenarios(redisServer)
  if (selected.includes('accuracy') && redisServer) await runAccuracy(redisServer)
} finally {
  await redisServer?.stop()
}
