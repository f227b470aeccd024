import { describeEnvironment } from './environment.ts'
import { summarizeTargets } from './stats.ts'
import type { BenchResult, BenchTarget, RoundResult } from './types.ts'

type K6Metric = {
  type: string
  values: Record<string, number>
  thresholds?: Record<string, { ok: boolean }>
}

/** What `loadtests/lib/summary.js` adds to k6's handleSummary data under `kit`. */
export type K6KitMeta = {
  project?: string
  scenario?: string
  description?: string
  baseUrl?: string
  /** ISO time the summary was written (end of the run). */
  date?: string
  /** Length of the measured scenario (excludes setup), used for req/s. */
  durationSeconds?: number
  expectedStatus?: number
  k6?: Record<string, unknown>
}

/** k6's handleSummary `data` (https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/). */
export type K6Summary = {
  kit?: K6KitMeta
  state?: { testRunDurationMs?: number }
  metrics: Record<string, K6Metric>
}

export type ImportK6Options = {
  /** Result scenario name; use a distinct one (e.g. 'redirect-k6') so k6 and autocannon figures never mix. */
  scenario: string
  project?: string
  /** Name of the measured target (default: the project). */
  target?: string
  kind?: BenchTarget['kind']
  /** The command that ran k6 (default: rebuilt from the summary's BASE_URL and SCENARIO). */
  command?: string
  /** A k6 summary of the bare baseline run right before or after, to compute the ratio. */
  baseline?: { summary: K6Summary; name?: string }
  /** Where git and package versions are read (default process.cwd()). */
  cwd?: string
}

export class K6SummaryError extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}

/** The scenario's own sub-metric when the script exposed it (setup requests excluded), else the total. */
function metric(summary: K6Summary, name: string): K6Metric | undefined {
  const scenario = summary.kit?.scenario
  return (scenario && summary.metrics[`${name}{scenario:${scenario}}`]) || summary.metrics[name]
}

function roundFrom(summary: K6Summary, label: string): RoundResult {
  const reqs = metric(summary, 'http_reqs')
  const duration = metric(summary, 'http_req_duration')
  if (!reqs || !duration)
    throw new K6SummaryError(`${label}: no http_reqs / http_req_duration metric`)
  const stat = (name: string) => {
    const value = duration.values[name]
    if (value === undefined) {
      throw new K6SummaryError(
        `${label}: http_req_duration has no ${name}; set summaryTrendStats to include 'med', 'p(97.5)', 'p(99)'`
      )
    }
    return value
  }
  const durationSeconds =
    summary.kit?.durationSeconds ?? (summary.state?.testRunDurationMs ?? 0) / 1000
  const requests = reqs.values.count ?? 0
  return {
    round: 1,
    durationSeconds,
    requests,
    requestsPerSecond: durationSeconds > 0 ? requests / durationSeconds : 0,
    latencyMs: { p50: stat('med'), p97_5: stat('p(97.5)'), p99: stat('p(99)') },
    // A k6 Rate counts its true samples as passes: for http_req_failed, the failed requests.
    errors: metric(summary, 'http_req_failed')?.values.passes ?? 0,
    statuses: {},
    unexpectedStatuses: {},
    cpuSeconds: { target: null, generator: null },
    rssBytes: null,
  }
}

function notesFrom(summary: K6Summary, label: string): string[] {
  const notes: string[] = []
  const dropped = summary.metrics.dropped_iterations?.values.count ?? 0
  if (dropped > 0) {
    notes.push(
      `${label}: k6 dropped ${dropped} iterations: the offered rate was not sustained (the target or k6 ` +
        'ran out of capacity), so req/s is what was served, not what was offered.'
    )
  }
  for (const [name, m] of Object.entries(summary.metrics)) {
    for (const [threshold, { ok }] of Object.entries(m.thresholds ?? {})) {
      if (!ok) notes.push(`${label}: threshold failed: ${name} ${threshold}.`)
    }
  }
  const k6 = summary.kit?.k6
  if (k6) {
    const vus = summary.metrics.vus_max?.values.max
    notes.push(
      `${label}: k6 ${Object.entries(k6)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(', ')}${vus ? `; peak ${vus} VUs` : ''}.`
    )
  }
  return notes
}

/**
 * Turns a k6 handleSummary export into a @kit/bench result (tool 'k6', one round, no CPU
 * figures). With `baseline`, the ratio of the two runs is computed as for autocannon results.
 * Compare k6 figures only with k6 figures: on 2 cores k6 takes about 1.2 of them.
 */
export async function importK6Summary(
  summary: K6Summary,
  options: ImportK6Options
): Promise<BenchResult> {
  const kit = summary.kit ?? {}
  const project = options.project ?? kit.project ?? 'unknown'
  const targets: { name: string; kind: BenchTarget['kind']; rounds: RoundResult[] }[] = [
    {
      name: options.target ?? project,
      kind: options.kind ?? 'subject',
      rounds: [roundFrom(summary, 'summary')],
    },
  ]
  const notes = notesFrom(summary, targets[0]!.name)
  if (options.baseline) {
    const name = options.baseline.name ?? 'baseline'
    targets.push({ name, kind: 'baseline', rounds: [roundFrom(options.baseline.summary, name)] })
    notes.push(...notesFrom(options.baseline.summary, name))
  }
  notes.push('Machine, commit and versions were recorded when the k6 summary was imported.')
  const environment = await describeEnvironment(options.cwd ?? process.cwd())
  const command =
    options.command ??
    `k6 run -e BASE_URL=${kit.baseUrl ?? '<BASE_URL>'} -e SCENARIO=${kit.scenario ?? '<SCENARIO>'} loadtests/${project}.js`

  return {
    project,
    scenario: options.scenario,
    description: kit.description ?? `k6 scenario ${kit.scenario ?? options.scenario}`,
    date: kit.date ?? new Date().toISOString(),
    command,
    smoke: false,
    tool: 'k6',
    connections: null,
    durationSeconds: targets[0]!.rounds[0]!.durationSeconds,
    pipelining: null,
    warmupSeconds: null,
    rounds: 1,
    expectedStatuses: kit.expectedStatus === undefined ? [] : [kit.expectedStatus],
    ...environment,
    targets: summarizeTargets(targets),
    notes,
  }
}
