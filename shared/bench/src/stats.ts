import type {
  BaselineRatio,
  BenchResult,
  BenchTarget,
  Range,
  Reading,
  RoundResult,
  TargetResult,
} from './types.ts'

/**
 * Cores per generator thread above which a round counts as generator-bound. A thread busy three
 * quarters of the round has little slack left for bursts: the requests it cannot send in time
 * are the target's missing req/s.
 */
export const GENERATOR_SATURATION = 0.75

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Median with min and max of a non-empty list. */
export function range(values: readonly number[]): Range {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) }
}

/**
 * Ratio of `subject` to `baseline` taken round by round: round r of the subject is divided by
 * round r of the baseline, because the two ran back to back and saw the same machine load.
 * The median of those paired ratios is far steadier than a ratio of two medians taken over a
 * noisy afternoon. Rounds whose denominator is 0 are skipped; null when none is left.
 */
export function pairedRatio(subject: readonly number[], baseline: readonly number[]): Range | null {
  if (subject.length !== baseline.length) {
    throw new RangeError(`paired rounds differ in count: ${subject.length} vs ${baseline.length}`)
  }
  const ratios: number[] = []
  subject.forEach((value, i) => {
    const denominator = baseline[i]!
    if (denominator > 0) ratios.push(value / denominator)
  })
  return ratios.length > 0 ? range(ratios) : null
}

/** Target CPU µs per response in one round; null without a CPU figure or responses. */
export function cpuMicrosPerRequest(round: RoundResult): number | null {
  return round.cpuSeconds.target === null || round.requests === 0
    ? null
    : (round.cpuSeconds.target * 1e6) / round.requests
}

/** req/s, p99 and CPU-per-request ratios of one target's rounds against the baseline's rounds. */
export function baselineRatio(
  rounds: readonly RoundResult[],
  baselineRounds: readonly RoundResult[]
): BaselineRatio {
  const cpu = rounds.map(cpuMicrosPerRequest)
  const baselineCpu = baselineRounds.map(cpuMicrosPerRequest)
  const known = (values: (number | null)[]): values is number[] => values.every((v) => v !== null)
  return {
    requestsPerSecond: pairedRatio(
      rounds.map((r) => r.requestsPerSecond),
      baselineRounds.map((r) => r.requestsPerSecond)
    ),
    p99: pairedRatio(
      rounds.map((r) => r.latencyMs.p99),
      baselineRounds.map((r) => r.latencyMs.p99)
    ),
    cpuMicrosPerRequest: known(cpu) && known(baselineCpu) ? pairedRatio(cpu, baselineCpu) : null,
  }
}

/** Rounds of `rounds` in which the generator was saturated. */
export function saturatedRounds(rounds: readonly RoundResult[]): RoundResult[] {
  return rounds.filter((r) => r.generatorSaturated === true)
}

/**
 * req/s unless the generator was saturated in at least half the rounds of the target or of the
 * baseline it is divided by, and CPU figures exist to judge by instead.
 */
export function judgedBy(
  rounds: readonly RoundResult[],
  baselineRounds: readonly RoundResult[] = []
): Reading {
  const bound = (list: readonly RoundResult[]) =>
    list.length > 0 && saturatedRounds(list).length * 2 >= list.length
  const hasCpu = [...rounds, ...baselineRounds].every((r) => cpuMicrosPerRequest(r) !== null)
  return hasCpu && (bound(rounds) || bound(baselineRounds))
    ? 'cpuMicrosPerRequest'
    : 'requestsPerSecond'
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null)
  return known.length === values.length && known.length > 0 ? median(known) : null
}

/**
 * Turns the rounds of every target into the per-target summary: medians over rounds, and the
 * ratio to the (single) baseline when there is one.
 */
export function summarizeTargets(
  targets: readonly { name: string; kind: BenchTarget['kind']; rounds: RoundResult[] }[]
): TargetResult[] {
  const baselines = targets.filter((t) => t.kind === 'baseline')
  if (baselines.length > 1) {
    throw new RangeError(
      `at most one baseline per result, got ${baselines.map((t) => t.name).join(', ')}`
    )
  }
  const baseline = baselines[0]

  return targets.map(({ name, kind, rounds }) => {
    if (rounds.length === 0) throw new RangeError(`target ${name} has no rounds`)
    return {
      name,
      kind,
      rounds,
      requestsPerSecond: range(rounds.map((r) => r.requestsPerSecond)),
      latencyMs: {
        p50: median(rounds.map((r) => r.latencyMs.p50)),
        p97_5: median(rounds.map((r) => r.latencyMs.p97_5)),
        p99: median(rounds.map((r) => r.latencyMs.p99)),
      },
      errors: rounds.reduce((sum, r) => sum + r.errors, 0),
      cpuCores: {
        target: medianOrNull(rounds.map((r) => perSecond(r.cpuSeconds.target, r.durationSeconds))),
        generator: medianOrNull(
          rounds.map((r) => perSecond(r.cpuSeconds.generator, r.durationSeconds))
        ),
      },
      cpuMicrosPerRequest: medianOrNull(rounds.map(cpuMicrosPerRequest)),
      rssBytes: rounds.some((r) => r.rssBytes === null)
        ? null
        : Math.max(...rounds.map((r) => r.rssBytes ?? 0)),
      ratio: baseline ? baselineRatio(rounds, baseline.rounds) : null,
      judgedBy: judgedBy(rounds, baseline?.rounds),
    }
  })
}

function perSecond(value: number | null, seconds: number): number | null {
  return value === null || seconds <= 0 ? null : value / seconds
}

/**
 * A result with the readings that results older than them lack, derived from their own figures:
 * each round's `generatorSaturated` (from the generator's CPU seconds), each target's paired
 * CPU-per-request ratio and the reading it is judged by. Figures present are kept as they are.
 */
export function withReadings(result: BenchResult): BenchResult {
  const threads = result.generator?.threads ?? 1
  const targets = result.targets.map((target) => ({
    ...target,
    rounds: target.rounds.map((round) => {
      if (round.generatorSaturated !== undefined || round.cpuSeconds.generator === null) {
        return round
      }
      const cores =
        round.durationSeconds > 0 ? round.cpuSeconds.generator / round.durationSeconds : 0
      return { ...round, generatorSaturated: cores >= GENERATOR_SATURATION * threads }
    }),
  }))
  const baseline = targets.find((t) => t.kind === 'baseline')
  return {
    ...result,
    targets: targets.map((target) => ({
      ...target,
      ratio:
        target.ratio && baseline && target.ratio.cpuMicrosPerRequest === undefined
          ? {
              ...target.ratio,
              cpuMicrosPerRequest: baselineRatio(target.rounds, baseline.rounds)
                .cpuMicrosPerRequest,
            }
          : target.ratio,
      judgedBy: target.judgedBy ?? judgedBy(target.rounds, baseline?.rounds),
    })),
  }
}
