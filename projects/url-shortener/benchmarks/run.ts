/**
 * The URL shortener's benchmark: `pnpm --filter @kit/url-shortener bench [--smoke] [--scenario <name>]`
 * (the script builds first, so the measured process is the compiled dist/main.js).
 *
 * Each scenario runs, in one interleaved run, the shortener(s) and the bare Hono app answering
 * the same status; a result is saved only when every sample response and every after-run check
 * (clicks counted, links stored) passes. Parameters come from loadtests/scenarios/url-shortener.js,
 * shared with the k6 script.
 */
import { availableParallelism, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { baselineRatio, baselineTarget, runBenchmark, saveResult } from '@kit/bench'
import type { BenchResult, BenchTarget, Scenario } from '@kit/bench'
import { startRedisServer } from '@kit/testing'
import type { RedisServer } from '@kit/testing'
import {
  BenchVerificationError,
  CHECK_SAMPLES,
  createScenario,
  loadScenario,
  readTopStats,
  redirectScenario,
} from './scenarios.ts'
import type { RedirectScenario } from './scenarios.ts'
import { getManaged, metricValue, shortenerTarget } from './shortener-target.ts'

const benchmarksDir = fileURLToPath(new URL('.', import.meta.url))

type Run = (options: { smoke: boolean; command: string }) => Promise<BenchResult>

/** Redirects of known codes; the subject runs with `env` and its clicks are checked after the run. */
function redirectRun({
  name,
  data,
  description = data.description,
  env = {},
  notes = [],
  redis = false,
}: {
  name: string
  data: ReturnType<typeof loadScenario>
  description?: string
  env?: Record<string, string>
  notes?: string[]
  /** Serve the cache from a private redis-server started for this run. */
  redis?: boolean
}): Run {
  return async ({ smoke, command }) => {
    const tracking = data.clickTracking
    const scenario: RedirectScenario = redirectScenario({ name, description, data })
    const server: RedisServer | undefined = redis ? await startRedisServer() : undefined
    const subject = shortenerTarget({
      name: 'url-shortener',
      env: { ...env, TRACK_CLICKS: String(tracking), ...(server ? { REDIS_URL: server.url } : {}) },
      async beforeStop(started, run) {
        if (tracking)
          run.observed.topStats = await readTopStats(started, scenario.codesOf(started.url))
      },
    })
    try {
      const result = await measure({
        scenario,
        // The same bare app behind hono/request-id, hono/secure-headers and @hono/prometheus:
        // what the idiomatic stack costs before any of the shortener's code runs.
        targets: [
          subject,
          baselineTarget({ shape: 'redirect', middleware: 'hono' }),
          baselineTarget({ shape: 'redirect' }),
        ],
        smoke,
        command,
        notes,
      })
      verified(scenario.verifyClicks(result, subject.runs, tracking))
      // The target is for tracked redirects; the untracked figure is the lookup alone.
      if (tracking && !smoke) addTargetNotes(result, { requestsPerSecond: 0.7, p99: 2 })
      addStackNote(result)
      return result
    } finally {
      subject.cleanup()
      await server?.stop()
    }
  }
}

/** Creates, with one shortener per code strategy. */
const createRun: Run = async ({ smoke, command }) => {
  const scenario = createScenario({ data: loadScenario('create') })
  const strategies = {
    random: {},
    snowflake: {},
    'snowflake-scrambled': { CODE_SECRET: 'bench-secret-0123456789' },
  }
  const subjects = Object.entries(strategies).map(([strategy, env]) =>
    shortenerTarget({
      name: `url-shortener (${strategy})`,
      env: { CODE_STRATEGY: strategy, TRACK_CLICKS: 'false', ...env },
      async beforeStop(started, run) {
        const metrics = await (await getManaged(`${started.url}/metrics`)).text()
        run.observed.collisionRetries = metricValue(
          metrics,
          'url_shortener_code_collision_retries_total'
        )
      },
    })
  )
  try {
    const result = await measure({
      scenario,
      targets: [...subjects, baselineTarget({ shape: 'json' })],
      smoke,
      command,
      notes: [],
    })
    verified(subjects.flatMap((subject) => scenario.verifyLinks(result, subject.runs)))
    for (const target of result.targets.filter((t) => t.kind === 'subject' && !smoke)) {
      const median = target.requestsPerSecond.median
      result.notes.push(
        `${target.name}: target >= 5,000 links/s: ${median >= 5000 ? 'met' : 'NOT met'}.`
      )
    }
    return result
  } finally {
    for (const subject of subjects) subject.cleanup()
  }
}

const redirect = loadScenario('redirect')
const tracked = loadScenario('redirect-tracked')

const RUNS: Record<string, Run> = {
  redirect: redirectRun({ name: 'redirect', data: redirect }),
  'redirect-tracked': redirectRun({ name: 'redirect-tracked', data: tracked }),
  create: createRun,
  'redirect-redis': redirectRun({
    name: 'redirect-redis',
    data: tracked,
    description:
      'As redirect-tracked, with the link cache in Redis (REDIS_URL, a private redis-server on ' +
      'this machine): one Redis GET per redirect instead of an in-process LRU hit.',
    redis: true,
    notes: ['redis-server runs on the same 2 cores; its CPU is not in the target column.'],
  }),
}

async function measure(options: {
  scenario: Scenario
  targets: BenchTarget[]
  smoke: boolean
  command: string
  notes: string[]
}): Promise<BenchResult> {
  const loadBefore = loadavg()[0] as number
  const result = await runBenchmark({
    project: 'url-shortener',
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    checkSamples: CHECK_SAMPLES,
    ...options,
  })
  // Other processes on the machine take CPU from both sides: say how busy it was.
  const loadAfter = loadavg()[0] as number
  result.notes.push(
    `Machine load average (1 min) at the start and end of the run: ${loadBefore.toFixed(2)} and ` +
      `${loadAfter.toFixed(2)} on ${availableParallelism()} cores; the benchmark's own target and ` +
      'generator make at most 2 of it, more means other processes competed for the cores.'
  )
  return result
}

function verified(problems: string[]): void {
  if (problems.length > 0) throw new BenchVerificationError(problems)
}

/** Says, from the figures, whether each subject met the targets (tracked redirects). */
function addTargetNotes(
  result: BenchResult,
  goal: { requestsPerSecond: number; p99: number }
): void {
  for (const target of result.targets.filter((t) => t.kind === 'subject')) {
    const rps = target.ratio?.requestsPerSecond?.median
    const p99 = target.ratio?.p99?.median
    if (rps === undefined || p99 === undefined) continue
    const met = rps >= goal.requestsPerSecond && p99 <= goal.p99
    result.notes.push(
      `${target.name}: target >= ${goal.requestsPerSecond}x the baseline's req/s with p99 <= ${goal.p99}x ` +
        `its p99: ${met ? 'met' : 'NOT met'} (${rps.toFixed(2)}x, p99 ${p99.toFixed(2)}x).`
    )
  }
}

/** The subject against the bare app behind Hono's middlewares: the shortener's own share. */
function addStackNote(result: BenchResult): void {
  const reference = result.targets.find((t) => t.kind === 'reference')
  if (!reference) return
  for (const target of result.targets.filter((t) => t.kind === 'subject')) {
    const ratio = baselineRatio(target.rounds, reference.rounds)
    const rps = ratio.requestsPerSecond
    const cpu = ratio.cpuMicrosPerRequest
    if (!rps) continue
    result.notes.push(
      `${target.name} against ${reference.name} (the bare app behind hono/request-id, ` +
        `hono/secure-headers and @hono/prometheus, the stack every route of the shortener runs ` +
        `through): ${rps.median.toFixed(2)}x its req/s (${rps.min.toFixed(2)}–${rps.max.toFixed(2)})` +
        (cpu ? `, ${cpu.median.toFixed(2)}x its CPU µs per request` : '') +
        `; the rest of the gap to the bare app is the middlewares'.`
    )
  }
}

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    scenario: { type: 'string', multiple: true },
  },
})
const names = values.scenario ?? Object.keys(RUNS)
const unknown = names.filter((name) => !(name in RUNS))
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(RUNS).join(', ')}`)
  process.exit(1)
}

const command = ['pnpm --filter @kit/url-shortener bench', ...process.argv.slice(2)].join(' ')
for (const name of names) {
  const result = await (RUNS[name] as Run)({ smoke: values.smoke, command })
  const { file } = await saveResult(benchmarksDir, result)
  console.error(`${name}: saved ${file}`)
}
