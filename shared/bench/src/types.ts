import type { RequestMix } from './request-mix.ts'

/** A target the benchmark has started: where it listens and which process serves it. */
export type StartedTarget = {
  url: string
  pid: number
  /** SIGTERM, resolves when the process has exited. */
  stop(): Promise<void>
}

/**
 * A server to measure. Run it as a CHILD PROCESS (so its CPU is measured apart from the load
 * generator): build it with `spawnTarget()`.
 */
export type BenchTarget = {
  name: string
  kind: 'subject' | 'baseline' | 'peer' | 'reference'
  start(): Promise<StartedTarget>
}

/** One request the load generator sends; `next()` chooses it per request (e.g. Zipf). */
export type RequestSpec = {
  method?: string
  path: string
  headers?: Record<string, string>
  body?: string
}

/**
 * What a correct response looks like. `status` lists the statuses that count as success during
 * the run; a `header` or `body` string must match exactly, a RegExp must match.
 */
export type Check = {
  status: number | number[]
  header?: Record<string, string | RegExp>
  body?: string | RegExp
}

/** Verifies one sample response; returns what is wrong, or null when it is right. */
export type CheckFunction = (res: Response, req: RequestSpec) => Promise<string | null>

/**
 * What `prepare()` gives for one target: its requests and how to verify a sample response.
 * `requests`, a declared mix (`requestMix()`), runs on every generator, wrk included; `next()`,
 * a function drawing each request in this process, only on autocannon (with wrk chosen, the
 * whole run falls back to autocannon and says so in a note).
 */
export type PreparedScenario =
  | { requests: RequestMix; check: Check | CheckFunction }
  | { next(): RequestSpec; check: Check | CheckFunction }

export type Scenario = {
  /** File-safe name, e.g. 'redirect-tracked': it names the result file and the chart. */
  name: string
  description: string
  /**
   * Called once per target after it started (e.g. create the links); returns the requests for
   * that target and a verifier of sample responses.
   */
  prepare(target: StartedTarget): Promise<PreparedScenario>
  connections?: number
  durationSeconds?: number
  pipelining?: number
}

/** A median with the spread it was taken from. */
export type Range = { median: number; min: number; max: number }

/** What one measured round of one target recorded. */
export type RoundResult = {
  /** 1-based round number. */
  round: number
  durationSeconds: number
  /** Responses received in the round. */
  requests: number
  requestsPerSecond: number
  latencyMs: { p50: number; p97_5: number; p99: number }
  /** Connection errors, timeouts and responses with a non-expected status. */
  errors: number
  /** Count of every status received. */
  statuses: Record<string, number>
  /** The part of `statuses` that was not expected (counted in `errors`). */
  unexpectedStatuses: Record<string, number>
  /** CPU time (user + system) during the round; null when the tool cannot tell (k6). */
  cpuSeconds: { target: number | null; generator: number | null }
  /**
   * The generator used most of its cores (>= GENERATOR_SATURATION of a core per thread): it
   * may have set the pace of this round. Absent in results older than the flag.
   */
  generatorSaturated?: boolean
  /** Resident set size of the target at the end of the round. */
  rssBytes: number | null
  /** Figures a driver records beside the standard ones (e.g. the RSS a round's connections added). */
  extra?: Record<string, number>
}

/** Ratio of a target to the baseline: median of the per-round paired ratios, with min–max. */
export type BaselineRatio = {
  /** target req/s ÷ baseline req/s (higher is better); null when the baseline served nothing. */
  requestsPerSecond: Range | null
  /** target p99 ÷ baseline p99 (lower is better); null when the baseline p99 was always 0. */
  p99: Range | null
  /**
   * target CPU µs per request ÷ the baseline's (lower is better), paired per round; null
   * without CPU figures. Absent in older results.
   */
  cpuMicrosPerRequest?: Range | null
}

/**
 * Which reading a target's verdict is judged by: its req/s ratio when the generator kept up,
 * else its CPU µs per request (a saturated generator paces every target alike, so req/s ratios
 * crowd around 1 while the cost per request still tells them apart).
 */
export type Reading = 'requestsPerSecond' | 'cpuMicrosPerRequest'

export type TargetResult = {
  name: string
  kind: BenchTarget['kind']
  rounds: RoundResult[]
  requestsPerSecond: Range
  /** Medians over the rounds. */
  latencyMs: { p50: number; p97_5: number; p99: number }
  /** Sum over the rounds. */
  errors: number
  /** Medians over the rounds of CPU seconds ÷ round duration (1 = one core busy). */
  cpuCores: { target: number | null; generator: number | null }
  /** Median over the rounds of target CPU time per response, in microseconds. */
  cpuMicrosPerRequest: number | null
  /** Largest RSS seen at the end of a round. */
  rssBytes: number | null
  /** null when the result has no baseline. */
  ratio: BaselineRatio | null
  /** Absent in results older than it (they were judged by req/s). */
  judgedBy?: Reading
}

export type Machine = {
  cpuModel: string
  cores: number
  totalMemoryBytes: number
  os: string
}

/** Everything a reader needs to reproduce a run and judge its figures. */
export type BenchResult = {
  project: string
  scenario: string
  description: string
  /** ISO 8601, when the run started. */
  date: string
  /** The exact command that produced the result. */
  command: string
  /** A smoke run checks the wiring in seconds; its figures are not a measurement. */
  smoke: boolean
  /** e.g. 'wrk 4.1.0', 'autocannon 9.0.0' or 'k6'. */
  tool: string
  /**
   * What one counted event is, for the report's labels; absent: a request (`req/s`, `µs/req`).
   * The WebSocket driver counts deliveries (`deliveries/s`, `µs/delivery`) or connections.
   */
  unit?: { one: string; many: string }
  /** The load generator of a @kit/bench run (absent for k6 imports and older results). */
  generator?: { name: 'wrk' | 'autocannon'; version: string; threads: number }
  connections: number | null
  durationSeconds: number
  pipelining: number | null
  warmupSeconds: number | null
  /** True when each round started one target later than the one before (absent in older results). */
  orderRotated?: boolean
  rounds: number
  expectedStatuses: number[]
  machine: Machine
  node: string
  git: { sha: string; dirty: boolean } | null
  /** Versions of the stack's packages, read from the package.json files that resolve. */
  versions: Record<string, string>
  targets: TargetResult[]
  notes: string[]
}
