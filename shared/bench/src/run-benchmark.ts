import autocannon from 'autocannon'
import { BenchCheckError, type CheckMismatch, verifySamples } from './check.ts'
import { benchPackageVersion, describeEnvironment } from './environment.ts'
import { formatDecimal } from './format.ts'
import { LatencyRecorder } from './latency.ts'
import { generatorCpuSeconds, readCpuSeconds, readRssBytes } from './process-stats.ts'
import { summarizeTargets } from './stats.ts'
import type {
  BenchResult,
  BenchTarget,
  Check,
  CheckFunction,
  RequestSpec,
  RoundResult,
  Scenario,
  StartedTarget,
} from './types.ts'

export type RunBenchmarkOptions = {
  /** The project measured, e.g. 'url-shortener'. */
  project: string
  scenario: Scenario
  /** Exactly one of kind 'baseline'; round 1 measures them in this order, see roundOrder. */
  targets: BenchTarget[]
  /** Default 5; at least 5 unless `smoke`. */
  rounds?: number
  /**
   * Checks the wiring in seconds: 1 round by default, 1 s per round, at most 10 connections.
   * The result is flagged and the report says its figures are not a measurement.
   */
  smoke?: boolean
  /** The exact command line, recorded in the result (e.g. 'pnpm --filter @kit/url-shortener bench'). */
  command: string
  notes?: string[]
  /** Load before each measured round of each target, discarded (default 1 s, 0.2 s in smoke). */
  warmupSeconds?: number
  /** Sample responses verified per target before measuring (default 50). */
  checkSamples?: number
  /** Where git and package versions are read (default process.cwd()). */
  cwd?: string
  /** Progress lines (default: stderr). */
  log?: (line: string) => void
}

const MIN_ROUNDS = 5

type Prepared = {
  target: BenchTarget
  started: StartedTarget
  next: () => RequestSpec
  check: Check | CheckFunction
  expectedStatuses: number[]
  rounds: RoundResult[]
}

/**
 * Runs `scenario` against every target, interleaved and rotated (round 1: A, B, C; round 2:
 * B, C, A; ...), with autocannon in this process. Before measuring, verifies `checkSamples`
 * responses of each target and REFUSES to report (throws BenchCheckError) on any mismatch; during
 * the run any non-expected status counts as an error. Every target is stopped before it resolves
 * or throws.
 * @example
 * ```ts
 * const result = await runBenchmark({
 *   project: 'url-shortener',
 *   scenario: redirectScenario,
 *   targets: [subject, baselineTarget({ shape: 'redirect' })],
 *   command: 'pnpm --filter @kit/url-shortener bench',
 * })
 * await saveResult('benchmarks', result)
 * ```
 */
export async function runBenchmark({
  project,
  scenario,
  targets,
  smoke = false,
  rounds = smoke ? 1 : MIN_ROUNDS,
  command,
  notes = [],
  warmupSeconds = smoke ? 0.2 : 1,
  checkSamples = 50,
  cwd = process.cwd(),
  log = (line) => process.stderr.write(`${line}\n`),
}: RunBenchmarkOptions): Promise<BenchResult> {
  if (!Number.isInteger(rounds) || rounds < (smoke ? 1 : MIN_ROUNDS)) {
    throw new RangeError(`rounds must be an integer >= ${smoke ? 1 : MIN_ROUNDS}, got ${rounds}`)
  }
  if (targets.filter((t) => t.kind === 'baseline').length !== 1) {
    throw new RangeError('runBenchmark needs exactly one target of kind "baseline"')
  }
  const connections = smoke
    ? Math.min(scenario.connections ?? 50, 10)
    : (scenario.connections ?? 50)
  const durationSeconds = smoke ? 1 : (scenario.durationSeconds ?? 10)
  const pipelining = scenario.pipelining ?? 1
  const date = new Date().toISOString()
  const environment = await describeEnvironment(cwd)

  const running: StartedTarget[] = []
  const prepared: Prepared[] = []
  try {
    for (const target of targets) {
      const started = await target.start()
      running.push(started)
      const { next, check } = await scenario.prepare(started)
      prepared.push({ target, started, next, check, expectedStatuses: [], rounds: [] })
    }

    const mismatches: CheckMismatch[] = []
    for (const entry of prepared) {
      const verified = await verifySamples({
        target: entry.target.name,
        url: entry.started.url,
        next: entry.next,
        check: entry.check,
        samples: checkSamples,
      })
      mismatches.push(...verified.mismatches)
      entry.expectedStatuses =
        typeof entry.check === 'function' ? [...verified.statuses] : [entry.check.status].flat()
    }
    if (mismatches.length > 0) throw new BenchCheckError(mismatches, checkSamples * prepared.length)

    const warmup = { connections, pipelining, durationSeconds: warmupSeconds, sampleInt: 100 }
    // The load generator shares this process: warm its JIT on every target first, or the
    // target measured first in round 1 pays for it (seen as a 0.5× ratio of a server to itself).
    for (const entry of prepared) await load(entry, warmup)
    for (let round = 1; round <= rounds; round++) {
      for (const entry of roundOrder(prepared, round)) {
        await load(entry, warmup)
        const measured = await measureRound(entry, round, {
          connections,
          pipelining,
          durationSeconds,
        })
        entry.rounds.push(measured)
        log(
          `${scenario.name} round ${round}/${rounds} ${entry.target.name.padEnd(16)} ` +
            `${Math.round(measured.requestsPerSecond).toLocaleString('en-US').padStart(8)} req/s  ` +
            `p99 ${formatDecimal(measured.latencyMs.p99)} ms  errors ${measured.errors}`
        )
      }
    }
  } finally {
    await Promise.allSettled(running.map((started) => started.stop()))
  }

  const allExpected = [...new Set(prepared.flatMap((entry) => entry.expectedStatuses))].sort(
    (a, b) => a - b
  )
  const result: BenchResult = {
    project,
    scenario: scenario.name,
    description: scenario.description,
    date,
    command,
    smoke,
    tool: `autocannon ${(await benchPackageVersion('autocannon')) ?? 'unknown'}`,
    connections,
    durationSeconds,
    pipelining,
    warmupSeconds,
    orderRotated: prepared.length > 1,
    rounds,
    expectedStatuses: allExpected,
    ...environment,
    targets: summarizeTargets(
      prepared.map(({ target, rounds }) => ({ name: target.name, kind: target.kind, rounds }))
    ),
    notes: [...notes],
  }
  result.notes.push(...automaticNotes(result))
  return result
}

/**
 * The order of the targets in `round` (from 1): each round starts one target later. On a shared
 * machine, noise that recurs with the round (a neighbour's periodic job, a target's own timers)
 * would otherwise land on the same position every round, and a fixed order puts every target
 * after the same neighbour, whose load it inherits; rotating spreads both over every target.
 */
export function roundOrder<T>(targets: readonly T[], round: number): T[] {
  const start = (round - 1) % Math.max(1, targets.length)
  return [...targets.slice(start), ...targets.slice(0, start)]
}

type LoadOptions = {
  connections: number
  pipelining: number
  durationSeconds: number
  sampleInt?: number
}

/**
 * One autocannon run against a target, every request drawn from the scenario's `next()`;
 * `latencies`, when given, receives every response time.
 */
function load(
  entry: Prepared,
  { connections, pipelining, durationSeconds, sampleInt }: LoadOptions,
  latencies?: LatencyRecorder
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: entry.started.url,
        connections,
        pipelining,
        duration: durationSeconds,
        ...(sampleInt === undefined ? {} : { sampleInt }),
        // autocannon rebuilds the request before every send when setupRequest is set, so each
        // request is a fresh draw (a fixed request would hit one cache key forever).
        requests: [
          {
            setupRequest(request) {
              const spec = entry.next()
              return {
                ...request,
                method: (spec.method ?? 'GET') as autocannon.Request['method'],
                path: spec.path,
                headers: { ...request.headers, ...spec.headers },
                body: spec.body ?? '',
              }
            },
          },
        ],
      },
      (error, result) => (error ? reject(error) : resolve(result))
    )
    if (latencies) {
      instance.on('response', (_client, _status, _bytes, responseTime) =>
        latencies.record(responseTime)
      )
    }
  })
}

async function measureRound(
  entry: Prepared,
  round: number,
  options: LoadOptions
): Promise<RoundResult> {
  const { pid } = entry.started
  const targetCpuBefore = await readCpuSeconds(pid)
  const generatorBefore = process.cpuUsage()

  const latencies = new LatencyRecorder()
  const result = await load(entry, options, latencies)

  const generator = generatorCpuSeconds(generatorBefore)
  let target: number
  let rssBytes: number
  try {
    target = (await readCpuSeconds(pid)) - targetCpuBefore
    rssBytes = await readRssBytes(pid)
  } catch (error) {
    throw new Error(`target ${entry.target.name} (pid ${pid}) died during round ${round}`, {
      cause: error,
    })
  }

  const statuses: Record<string, number> = {}
  const unexpectedStatuses: Record<string, number> = {}
  for (const [status, { count = 0 }] of Object.entries(result.statusCodeStats ?? {})) {
    statuses[status] = count
    if (!entry.expectedStatuses.includes(Number(status))) unexpectedStatuses[status] = count
  }
  const p = latencies.percentiles([50, 97.5, 99])
  const unexpected = Object.values(unexpectedStatuses).reduce((sum, n) => sum + n, 0)
  // `errors` already includes timeouts in autocannon.
  const requests = result.requests.total
  return {
    round,
    durationSeconds: result.duration,
    requests,
    requestsPerSecond: result.duration > 0 ? requests / result.duration : 0,
    latencyMs: { p50: p[50], p97_5: p[97.5], p99: p[99] },
    errors: result.errors + unexpected,
    statuses,
    unexpectedStatuses,
    cpuSeconds: { target, generator },
    rssBytes,
  }
}

/** What a reader must know to read the figures right, derived from the figures themselves. */
function automaticNotes(result: BenchResult): string[] {
  const notes: string[] = []
  if (result.smoke)
    notes.push('SMOKE run: checks the wiring only; these figures are not a measurement.')
  for (const target of result.targets) {
    if (target.errors > 0) {
      notes.push(
        `${target.name}: ${target.errors} errors (connection errors, timeouts or non-expected statuses) during the run.`
      )
    }
    const generator = target.cpuCores.generator ?? 0
    if (generator >= 0.9) {
      const consequence =
        target.kind === 'baseline'
          ? 'its req/s is a lower bound, so the ratios of the other targets to it are upper bounds.'
          : 'its req/s and its ratio to the baseline are lower bounds.'
      notes.push(
        `${target.name}: the load generator used ${generator.toFixed(2)} cores (one Node thread ` +
          `saturates at 1), so it may have set the pace: ${consequence}`
      )
    }
  }
  return notes
}
