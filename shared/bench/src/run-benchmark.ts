import autocannon from 'autocannon'
import { BenchCheckError, type CheckMismatch, verifySamples } from './check.ts'
import { benchPackageVersion, describeEnvironment } from './environment.ts'
import { formatDecimal } from './format.ts'
import { LatencyRecorder } from './latency.ts'
import { generatorCpuSeconds, readCpuSeconds, readRssBytes } from './process-stats.ts'
import type { RequestMix } from './request-mix.ts'
import { GENERATOR_SATURATION, saturatedRounds, summarizeTargets } from './stats.ts'
import { findWrk, runWrk, wrkVersion } from './wrk.ts'
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
  /**
   * The load generator. Default: `BENCH_GENERATOR` if set, else 'wrk' where it is installed
   * (`WRK_BIN` or `wrk` on PATH), else 'autocannon'. wrk needs every target's requests as a
   * declared mix (`requests`); a scenario that gives `next()` runs on autocannon.
   */
  generator?: GeneratorName
  /**
   * wrk threads (`-t`), default `BENCH_WRK_THREADS` or 1: one wrk thread drives a Node target to
   * its limit at a fraction of a core, and a second would take CPU from the target on 2 cores
   * (README, "Choosing the generator").
   */
  wrkThreads?: number
}

export type GeneratorName = 'wrk' | 'autocannon'

const MIN_ROUNDS = 5

type Prepared = {
  target: BenchTarget
  started: StartedTarget
  next: () => RequestSpec
  /** The declared mix, when the scenario gives one (required by wrk). */
  mix: RequestMix | undefined
  check: Check | CheckFunction
  expectedStatuses: number[]
  rounds: RoundResult[]
  /** Loads run so far: the n-th load of every target draws from the same seed. */
  loads: number
}

/** The generator a run uses, its version and threads. */
type Generator = { name: GeneratorName; version: string; threads: number; bin: string }

/** The generator asked for, or the default for this machine. */
export function chooseGenerator(
  asked: GeneratorName | undefined,
  env: NodeJS.ProcessEnv = process.env
): GeneratorName {
  const choice = asked ?? env.BENCH_GENERATOR
  if (choice !== undefined && choice !== '') {
    if (choice !== 'wrk' && choice !== 'autocannon') {
      throw new RangeError(`generator must be wrk or autocannon, got ${JSON.stringify(choice)}`)
    }
    return choice
  }
  return findWrk(env) ? 'wrk' : 'autocannon'
}

async function describeGenerator(name: GeneratorName, wrkThreads: number): Promise<Generator> {
  if (name === 'autocannon') {
    const version = (await benchPackageVersion('autocannon')) ?? 'unknown'
    return { name, version, threads: 1, bin: '' }
  }
  const bin = findWrk()
  if (bin === null) {
    throw new Error('generator wrk asked for, but no wrk found (install it: apt-get install wrk)')
  }
  return { name, version: await wrkVersion(bin), threads: wrkThreads, bin }
}

/**
 * Runs `scenario` against every target, interleaved and rotated (round 1: A, B, C; round 2:
 * B, C, A; ...), with wrk (a generated Lua script draws the scenario's `requests`) or autocannon
 * in this process. Before measuring, verifies `checkSamples` responses of each target and
 * REFUSES to report (throws BenchCheckError) on any mismatch; during the run any non-expected
 * status counts as an error. Each round records both sides' CPU and whether the generator was
 * saturated; each target is judged by req/s or, when the generator set the pace, by CPU per
 * request. Every target is stopped before it resolves or throws.
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
  generator: askedGenerator,
  wrkThreads = Number(process.env.BENCH_WRK_THREADS || 1),
}: RunBenchmarkOptions): Promise<BenchResult> {
  if (!Number.isInteger(wrkThreads) || wrkThreads < 1) {
    throw new RangeError(`wrkThreads must be an integer >= 1, got ${wrkThreads}`)
  }
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
  let generator = await describeGenerator(chooseGenerator(askedGenerator), wrkThreads)
  const generatorNotes: string[] = []

  const running: StartedTarget[] = []
  const prepared: Prepared[] = []
  try {
    for (const target of targets) {
      const started = await target.start()
      running.push(started)
      const ready = await scenario.prepare(started)
      const mix = 'requests' in ready ? ready.requests : undefined
      const next = mix ? () => mix.next() : () => (ready as { next(): RequestSpec }).next()
      prepared.push({
        target,
        started,
        next,
        mix,
        check: ready.check,
        expectedStatuses: [],
        rounds: [],
        loads: 0,
      })
    }
    if (generator.name === 'wrk' && prepared.some((entry) => entry.mix === undefined)) {
      // Every target of a run must see the same generator, or the ratios compare two tools.
      const note =
        `Load generator: autocannon instead of wrk, because scenario ${scenario.name} draws ` +
        'its requests with next() rather than declaring them with requestMix().'
      log(note)
      generatorNotes.push(note)
      generator = await describeGenerator('autocannon', 1)
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

    const warmup = { connections, pipelining, durationSeconds: warmupSeconds }
    // Warm every target (and autocannon's JIT, when it is the generator) first, or the target
    // measured first in round 1 pays for it (seen as a 0.5× ratio of a server to itself).
    for (const entry of prepared) await load(generator, entry, warmup)
    for (let round = 1; round <= rounds; round++) {
      for (const entry of roundOrder(prepared, round)) {
        await load(generator, entry, warmup)
        const measured = await measureRound(generator, entry, round, {
          connections,
          pipelining,
          durationSeconds,
        })
        entry.rounds.push(measured)
        const cores = (seconds: number | null) =>
          seconds === null ? 'n/a' : (seconds / measured.durationSeconds).toFixed(2)
        log(
          `${scenario.name} round ${round}/${rounds} ${entry.target.name.padEnd(16)} ` +
            `${Math.round(measured.requestsPerSecond).toLocaleString('en-US').padStart(8)} req/s  ` +
            `p99 ${formatDecimal(measured.latencyMs.p99)} ms  errors ${measured.errors}  ` +
            `cores target ${cores(measured.cpuSeconds.target)} ` +
            `${generator.name} ${cores(measured.cpuSeconds.generator)}` +
            (measured.generatorSaturated ? '  GENERATOR SATURATED' : '')
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
    tool: `${generator.name} ${generator.version}`,
    generator: { name: generator.name, version: generator.version, threads: generator.threads },
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
    notes: [...generatorNotes, ...notes],
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
}

/** What one load run measured, whichever generator ran it. */
type LoadOutcome = {
  requests: number
  durationSeconds: number
  latencyMs: { p50: number; p97_5: number; p99: number }
  /** Count of every status received. */
  statuses: Record<string, number>
  /** Connection errors, read/write errors and timeouts (statuses are judged apart). */
  transportErrors: number
  /** CPU seconds the generator used. */
  generatorCpuSeconds: number
}

function load(generator: Generator, entry: Prepared, options: LoadOptions): Promise<LoadOutcome> {
  entry.loads++
  return generator.name === 'wrk'
    ? loadWithWrk(generator, entry, options)
    : loadWithAutocannon(entry, options)
}

/**
 * One wrk run: the mix's template becomes the Lua script, the mix records what wrk built (so its
 * `sent` counts stay exact) and which `{unique}` values it used.
 */
async function loadWithWrk(
  generator: Generator,
  entry: Prepared,
  { connections, pipelining, durationSeconds }: LoadOptions
): Promise<LoadOutcome> {
  const mix = entry.mix as RequestMix
  const { result, cpuSeconds } = await runWrk({
    bin: generator.bin,
    url: entry.started.url,
    template: mix.template,
    connections,
    threads: generator.threads,
    durationSeconds,
    pipelining,
    firstUnique: mix.nextUnique,
    seed: (mix.template.seed ?? 1) + entry.loads,
  })
  mix.record({ total: result.built, byPick: result.byPick, nextUnique: result.nextUnique })
  const { connect, read, write, timeout } = result.errors
  return {
    requests: result.requests,
    durationSeconds: result.durationSeconds,
    latencyMs: result.latencyMs,
    statuses: result.statuses,
    transportErrors: connect + read + write + timeout,
    generatorCpuSeconds: cpuSeconds,
  }
}

/**
 * One autocannon run in this process, every request drawn from the scenario's `next()`, every
 * response time recorded exactly.
 */
async function loadWithAutocannon(
  entry: Prepared,
  { connections, pipelining, durationSeconds }: LoadOptions
): Promise<LoadOutcome> {
  const latencies = new LatencyRecorder()
  const before = process.cpuUsage()
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: entry.started.url,
        connections,
        pipelining,
        duration: durationSeconds,
        sampleInt: Math.min(1000, durationSeconds * 500),
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
      (error: unknown, result) =>
        error
          ? reject(
              error instanceof Error ? error : new Error('autocannon failed', { cause: error })
            )
          : resolve(result)
    )
    instance.on('response', (_client, _status, _bytes, responseTime) =>
      latencies.record(responseTime)
    )
  })
  const statuses: Record<string, number> = {}
  for (const [status, { count = 0 }] of Object.entries(result.statusCodeStats ?? {})) {
    statuses[status] = count
  }
  const p = latencies.percentiles([50, 97.5, 99])
  return {
    requests: result.requests.total,
    durationSeconds: result.duration,
    latencyMs: { p50: p[50], p97_5: p[97.5], p99: p[99] },
    statuses,
    // `errors` includes timeouts in autocannon.
    transportErrors: result.errors,
    generatorCpuSeconds: generatorCpuSeconds(before),
  }
}

async function measureRound(
  generator: Generator,
  entry: Prepared,
  round: number,
  options: LoadOptions
): Promise<RoundResult> {
  const { pid } = entry.started
  const targetCpuBefore = await readCpuSeconds(pid)

  const outcome = await load(generator, entry, options)

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

  const unexpectedStatuses: Record<string, number> = {}
  for (const [status, count] of Object.entries(outcome.statuses)) {
    if (!entry.expectedStatuses.includes(Number(status))) unexpectedStatuses[status] = count
  }
  const unexpected = Object.values(unexpectedStatuses).reduce((sum, n) => sum + n, 0)
  const { requests, durationSeconds } = outcome
  const generatorCores = durationSeconds > 0 ? outcome.generatorCpuSeconds / durationSeconds : 0
  return {
    round,
    durationSeconds,
    requests,
    requestsPerSecond: durationSeconds > 0 ? requests / durationSeconds : 0,
    latencyMs: outcome.latencyMs,
    errors: outcome.transportErrors + unexpected,
    statuses: outcome.statuses,
    unexpectedStatuses,
    cpuSeconds: { target, generator: outcome.generatorCpuSeconds },
    generatorSaturated: generatorCores >= GENERATOR_SATURATION * generator.threads,
    rssBytes,
  }
}

/** What a reader must know to read the figures right, derived from the figures themselves. */
function automaticNotes(result: BenchResult): string[] {
  const notes: string[] = []
  if (result.smoke)
    notes.push('SMOKE run: checks the wiring only; these figures are not a measurement.')
  const threads = result.generator?.threads ?? 1
  const generatorName = result.generator?.name ?? result.tool
  for (const target of result.targets) {
    if (target.errors > 0) {
      notes.push(
        `${target.name}: ${target.errors} errors (connection errors, timeouts or non-expected statuses) during the run.`
      )
    }
    const saturated = saturatedRounds(target.rounds)
    if (saturated.length > 0) {
      const rounds = saturated
        .map(
          (r) => `${r.round} (${((r.cpuSeconds.generator ?? 0) / r.durationSeconds).toFixed(2)})`
        )
        .join(', ')
      notes.push(
        `${target.name}: the load generator (${generatorName}, ${threads} thread${threads === 1 ? '' : 's'}) ` +
          `used ${GENERATOR_SATURATION} of a core per thread or more in round${saturated.length === 1 ? '' : 's'} ` +
          `${rounds} cores: it may have set the pace there, so req/s is a lower bound in ` +
          `${saturated.length === 1 ? 'that round' : 'those rounds'}.`
      )
    }
    if (target.judgedBy === 'cpuMicrosPerRequest' && target.kind !== 'baseline') {
      notes.push(
        `${target.name}: judged by target CPU µs per request (× baseline ` +
          `${target.ratio?.cpuMicrosPerRequest ? target.ratio.cpuMicrosPerRequest.median.toFixed(2) : 'n/a'}), ` +
          'not req/s: the generator was saturated in at least half the rounds of this target or of the baseline.'
      )
    }
  }
  return notes
}
