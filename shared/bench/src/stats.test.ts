import { describe, expect, it } from 'vitest'
import { median, pairedRatio, summarizeTargets, withReadings } from './stats.ts'
import type { BenchResult, RoundResult, TargetResult } from './types.ts'

function round(index: number, rps: number, p99: number, cpuTarget = 0.9): RoundResult {
  return {
    round: index,
    durationSeconds: 10,
    requests: rps * 10,
    requestsPerSecond: rps,
    latencyMs: { p50: p99 / 4, p97_5: p99 / 2, p99 },
    errors: 0,
    statuses: { '302': rps * 10 },
    unexpectedStatuses: {},
    cpuSeconds: { target: cpuTarget * 10, generator: 8 },
    rssBytes: 50_000_000 + index,
  }
}

describe('median', () => {
  it('when the count is odd, returns the middle value; when even, the mean of the two middle', () => {
    expect(median([5, 1, 3])).toBe(3)
    expect(median([4, 1, 3, 2])).toBe(2.5)
  })

  it('when the list is empty, throws', () => {
    expect(() => median([])).toThrow(RangeError)
  })
})

describe('pairedRatio', () => {
  it('when rounds are paired, returns the median of per-round ratios with min and max', () => {
    // Machine load drifts between rounds; the subject is always half the baseline of its round.
    const baseline = [40_000, 20_000, 60_000, 30_000, 50_000]
    const subject = [20_000, 10_000, 30_000, 15_000, 25_000]

    const ratio = pairedRatio(subject, baseline)

    expect(ratio).toEqual({ median: 0.5, min: 0.5, max: 0.5 })
  })

  it('when a round differs, the median ignores the outlier and min/max show the spread', () => {
    const ratio = pairedRatio([10, 12, 30, 10, 11], [20, 20, 20, 20, 20])

    expect(ratio).toEqual({ median: 0.55, min: 0.5, max: 1.5 })
  })

  it('when a baseline round is 0, skips it; when all are 0, returns null', () => {
    expect(pairedRatio([1, 2, 3], [0, 4, 3])).toEqual({ median: 0.75, min: 0.5, max: 1 })
    expect(pairedRatio([1, 2], [0, 0])).toBeNull()
  })

  it('when round counts differ, throws', () => {
    expect(() => pairedRatio([1, 2], [1])).toThrow(/differ/)
  })
})

describe('summarizeTargets', () => {
  it('when a baseline is present, gives every target its req/s and p99 ratio to it', () => {
    const baseline = [round(1, 40_000, 4), round(2, 20_000, 8), round(3, 30_000, 6)]
    const subject = [round(1, 10_000, 8), round(2, 6_000, 12), round(3, 6_000, 18)]

    const [subjectResult, baselineResult] = summarizeTargets([
      { name: 'url-shortener', kind: 'subject', rounds: subject },
      { name: 'bare-hono', kind: 'baseline', rounds: baseline },
    ])

    expect(subjectResult!.requestsPerSecond).toEqual({ median: 6_000, min: 6_000, max: 10_000 })
    // Per round: 0.25, 0.3, 0.2 → median 0.25 (the ratio of medians would say 0.2).
    expect(subjectResult!.ratio!.requestsPerSecond).toEqual({ median: 0.25, min: 0.2, max: 0.3 })
    // Per round p99: 2, 1.5, 3 → median 2.
    expect(subjectResult!.ratio!.p99).toEqual({ median: 2, min: 1.5, max: 3 })
    expect(baselineResult!.ratio!.requestsPerSecond).toEqual({ median: 1, min: 1, max: 1 })
    expect(subjectResult!.cpuCores).toEqual({ target: 0.9, generator: 0.8 })
    expect(subjectResult!.cpuMicrosPerRequest).toBeCloseTo(150, 6)
    expect(subjectResult!.rssBytes).toBe(50_000_003)
  })

  it('when there is no baseline, ratios are null', () => {
    const [only] = summarizeTargets([{ name: 'k6', kind: 'subject', rounds: [round(1, 100, 5)] }])

    expect(only!.ratio).toBeNull()
  })

  it('when two targets claim to be the baseline, throws naming them', () => {
    const rounds = [round(1, 100, 5)]

    expect(() =>
      summarizeTargets([
        { name: 'a', kind: 'baseline', rounds },
        { name: 'b', kind: 'baseline', rounds },
      ])
    ).toThrow(/a, b/)
  })
})

describe('CPU per request and the reading a target is judged by', () => {
  const saturated = (r: RoundResult, on: boolean): RoundResult => ({ ...r, generatorSaturated: on })

  it('when the generator kept up, judges by req/s and still reports the paired CPU µs/req ratio', () => {
    // Subject: 0.9 core for 20k req/s = 45 µs/req; baseline: 0.9 core for 40k req/s = 22.5 µs/req.
    const [subject] = summarizeTargets([
      { name: 'kit', kind: 'subject', rounds: [1, 2, 3].map((i) => round(i, 20_000, 4)) },
      { name: 'bare', kind: 'baseline', rounds: [1, 2, 3].map((i) => round(i, 40_000, 2)) },
    ])

    expect(subject!.cpuMicrosPerRequest).toBeCloseTo(45, 9)
    expect(subject!.ratio!.cpuMicrosPerRequest).toEqual({ median: 2, min: 2, max: 2 })
    expect(subject!.judgedBy).toBe('requestsPerSecond')
  })

  it('when the generator was saturated in half the baseline’s rounds, judges the subject by CPU µs/req', () => {
    const baselineRounds = [1, 2, 3, 4].map((i) => saturated(round(i, 40_000, 2), i <= 2))

    const [subject, baseline] = summarizeTargets([
      { name: 'kit', kind: 'subject', rounds: [1, 2, 3, 4].map((i) => round(i, 20_000, 4)) },
      { name: 'bare', kind: 'baseline', rounds: baselineRounds },
    ])

    expect(subject!.judgedBy).toBe('cpuMicrosPerRequest')
    expect(baseline!.judgedBy).toBe('cpuMicrosPerRequest')
  })

  it('when one round of five was saturated, or no CPU figure exists (k6), judges by req/s', () => {
    const oneOfFive = [1, 2, 3, 4, 5].map((i) => saturated(round(i, 20_000, 4), i === 3))
    const noCpu = [1, 2].map((i) => ({
      ...saturated(round(i, 20_000, 4), true),
      cpuSeconds: { target: null, generator: null },
    }))

    const [a] = summarizeTargets([{ name: 'a', kind: 'subject', rounds: oneOfFive }])
    const [b] = summarizeTargets([{ name: 'b', kind: 'subject', rounds: noCpu }])

    expect(a!.judgedBy).toBe('requestsPerSecond')
    expect(b!.judgedBy).toBe('requestsPerSecond')
    expect(b!.cpuMicrosPerRequest).toBeNull()
  })
})

describe('withReadings', () => {
  it('when a result predates the readings, flags its rounds from the generator CPU and judges from them', () => {
    // Generator at 0.8 core in every round: saturated. Stored as an older result had it.
    const [subject, baseline] = summarizeTargets([
      { name: 'kit', kind: 'subject', rounds: [1, 2, 3].map((i) => round(i, 20_000, 4)) },
      { name: 'bare', kind: 'baseline', rounds: [1, 2, 3].map((i) => round(i, 40_000, 2)) },
    ]).map(({ judgedBy: _, ratio, ...rest }): TargetResult => {
      const { cpuMicrosPerRequest: __, ...older } = ratio!
      return { ...rest, ratio: older }
    })
    const older = { tool: 'autocannon 9.0.0', targets: [subject!, baseline!] } as BenchResult

    const upgraded = withReadings(older)

    expect(upgraded.targets[0]!.rounds.every((r) => r.generatorSaturated)).toBe(true)
    expect(upgraded.targets[0]!.judgedBy).toBe('cpuMicrosPerRequest')
    expect(upgraded.targets[0]!.ratio!.cpuMicrosPerRequest).toEqual({ median: 2, min: 2, max: 2 })
  })
})
