import type { BenchResult, RoundResult, TargetResult } from '@kit/bench'
import { describe, expect, it } from 'vitest'
import { targetNotes } from './target-notes.ts'

type RoundFigures = {
  rps: number
  p99?: number
  cpuSeconds?: number | null
  rssPerThousand?: number
  saturated?: boolean
}

function round(index: number, figures: RoundFigures): RoundResult {
  const p99 = figures.p99 ?? 10
  return {
    round: index,
    durationSeconds: 10,
    requests: figures.rps * 10,
    requestsPerSecond: figures.rps,
    latencyMs: { p50: p99 / 4, p97_5: p99 / 2, p99 },
    errors: 0,
    statuses: {},
    unexpectedStatuses: {},
    cpuSeconds: { target: figures.cpuSeconds === undefined ? 5 : figures.cpuSeconds, generator: 8 },
    generatorSaturated: figures.saturated ?? false,
    rssBytes: 100_000_000,
    ...(figures.rssPerThousand !== undefined && {
      extra: { rssPerThousandBytes: figures.rssPerThousand },
    }),
  }
}

function target(name: string, kind: TargetResult['kind'], rounds: RoundFigures[]): TargetResult {
  const built = rounds.map((figures, i) => round(i + 1, figures))
  const rps = built.map((r) => r.requestsPerSecond)
  return {
    name,
    kind,
    rounds: built,
    // Summary figures a careless implementation could read instead of the rounds: deliberately
    // inconsistent with them, so only per-round pairing gives the expected ratios.
    requestsPerSecond: { median: rps[0]!, min: Math.min(...rps), max: Math.max(...rps) },
    latencyMs: { p50: 1, p97_5: 1, p99: 1 },
    errors: 0,
    cpuCores: { target: null, generator: null },
    cpuMicrosPerRequest: null,
    rssBytes: null,
    ratio: null,
  }
}

function result(targets: TargetResult[], smoke = false): BenchResult {
  return {
    project: 'chat',
    scenario: 'x',
    description: '',
    date: '2026-12-07T00:00:00.000Z',
    command: 'pnpm --filter @kit/chat bench',
    smoke,
    tool: 'kit ws driver',
    connections: 1000,
    durationSeconds: 10,
    pipelining: null,
    warmupSeconds: 2,
    rounds: targets[0]!.rounds.length,
    expectedStatuses: [],
    machine: { cpuModel: 'x', cores: 2, totalMemoryBytes: 1, os: 'linux' },
    node: 'v22',
    git: null,
    versions: {},
    targets,
    notes: [],
  }
}

describe('targetNotes', () => {
  it('when the chat delivers 1.3× Socket.IO round by round, the saturation target is met, with the CPU reading beside it', () => {
    // Load drifts between rounds; the chat is 1.3× Socket.IO within each round (and only then).
    const lines = targetNotes(
      'fanout-saturation',
      result([
        target('chat', 'subject', [
          { rps: 130_000, cpuSeconds: 5 },
          { rps: 65_000, cpuSeconds: 5, saturated: true },
          { rps: 104_000, cpuSeconds: 5 },
        ]),
        target('raw ws naive', 'baseline', [
          { rps: 80_000, cpuSeconds: 8 },
          { rps: 40_000, cpuSeconds: 8 },
          { rps: 64_000, cpuSeconds: 8 },
        ]),
        target('Socket.IO', 'peer', [
          { rps: 100_000, cpuSeconds: 10 },
          { rps: 50_000, cpuSeconds: 10 },
          { rps: 80_000, cpuSeconds: 10 },
        ]),
      ])
    )

    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain('chat ÷ Socket.IO: 1.30× (rounds 1.30–1.30), target >= 1.2×: met.')
    // Deliveries per CPU-second: chat 260,000/s, 130,000/s, 208,000/s; Socket.IO 100,000, 50,000, 80,000.
    expect(lines[1]).toContain('chat ÷ Socket.IO: 2.60× (rounds 2.60–2.60), target >= 1.2×: met.')
    // µs per delivery, round 1: chat 5 s / 1,300,000 = 3.85, Socket.IO 10 s / 1,000,000 = 10.
    expect(lines[1]).toContain('chat 4.81 (rounds 3.85, 7.69, 4.81; driver saturated in 1 of 3)')
    expect(lines[1]).toContain('raw ws naive 12.50 (rounds 10.00, 20.00, 12.50)')
    expect(lines[1]).toContain('Socket.IO 12.50 (rounds 10.00, 20.00, 12.50).')
  })

  it('when the chat is under 1.2× Socket.IO in most rounds, the saturation target is NOT met, and a missing CPU reading is not a pass', () => {
    const lines = targetNotes(
      'fanout-saturation',
      result([
        target('chat', 'subject', [
          { rps: 110, cpuSeconds: null },
          { rps: 150, cpuSeconds: null },
          { rps: 105, cpuSeconds: null },
        ]),
        target('raw ws naive', 'baseline', [{ rps: 80 }, { rps: 80 }, { rps: 80 }]),
        target('Socket.IO', 'peer', [{ rps: 100 }, { rps: 100 }, { rps: 100 }]),
      ])
    )

    expect(lines[0]).toContain(
      'chat ÷ Socket.IO: 1.10× (rounds 1.05–1.50), target >= 1.2×: NOT met.'
    )
    expect(lines[1]).toContain('target >= 1.2×: NOT met.')
    expect(lines[1]).toContain('chat n/a')
  })

  it('when the chat p99 is under half of Socket.IO but above raw ws, one p99 target is met and the other NOT met', () => {
    const lines = targetNotes(
      'latency-50k',
      result([
        target('chat', 'subject', [
          { rps: 50_000, p99: 40 },
          { rps: 50_000, p99: 60 },
          { rps: 50_000, p99: 44 },
        ]),
        target('raw ws naive', 'baseline', [
          { rps: 50_000, p99: 32 },
          { rps: 50_000, p99: 50 },
          { rps: 50_000, p99: 55 },
        ]),
        target('Socket.IO', 'peer', [
          { rps: 50_000, p99: 100 },
          { rps: 50_000, p99: 150 },
          { rps: 50_000, p99: 110 },
        ]),
      ])
    )

    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain('chat ÷ Socket.IO: 0.40× (rounds 0.40–0.40), target <= 0.5×: met.')
    // 40/32 = 1.25, 60/50 = 1.2, 44/55 = 0.8: median 1.2.
    expect(lines[1]).toContain(
      'chat ÷ raw ws naive: 1.20× (rounds 0.80–1.25), target <= 1×: NOT met.'
    )
    expect(lines[1]).toContain('Deliveries/s reached (median): chat 50,000, raw ws naive 50,000')
  })

  it('when the chat holds 0.4× the RSS of Socket.IO per 1,000 idle connections, the memory target is met; a negative reading is not', () => {
    const build = (chat: number[]) =>
      result([
        target(
          'chat',
          'subject',
          chat.map((rss) => ({ rps: 500, rssPerThousand: rss }))
        ),
        target('raw ws naive', 'baseline', [
          { rps: 500, rssPerThousand: 7e6 },
          { rps: 500, rssPerThousand: 7e6 },
        ]),
        target('Socket.IO', 'peer', [
          { rps: 500, rssPerThousand: 20e6 },
          { rps: 500, rssPerThousand: 25e6 },
        ]),
      ])

    expect(targetNotes('idle-connections', build([8e6, 10e6]))).toEqual([
      expect.stringContaining('chat ÷ Socket.IO: 0.40× (rounds 0.40–0.40), target <= 0.5×: met.'),
    ])
    expect(targetNotes('idle-connections', build([-8e6, -10e6]))[0]).toContain('NOT met.')
  })

  it('when the scenario has no target, gives no line; a smoke run says so on every line', () => {
    const targets = [
      target('chat', 'subject', [{ rps: 1, rssPerThousand: 1 }]),
      target('raw ws naive', 'baseline', [{ rps: 1, rssPerThousand: 1 }]),
      target('Socket.IO', 'peer', [{ rps: 1, rssPerThousand: 4 }]),
    ]

    expect(targetNotes('connect-10k', result(targets))).toEqual([])
    expect(targetNotes('fanout-two-instances', result(targets))).toEqual([])
    expect(targetNotes('idle-connections', result(targets, true))[0]).toMatch(
      /^\(SMOKE run, not a measurement\) .*: met\.$/
    )
  })
})
