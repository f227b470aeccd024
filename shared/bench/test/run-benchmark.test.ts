import { describe, expect, it } from 'vitest'
import { baselineTarget } from '../src/baseline.ts'
import { BenchCheckError } from '../src/check.ts'
import { requestMix, type RequestMix } from '../src/request-mix.ts'
import { chooseGenerator, roundOrder, runBenchmark } from '../src/run-benchmark.ts'
import { TargetStartError, spawnTarget } from '../src/spawn-target.ts'
import type { Scenario } from '../src/types.ts'
import { createZipf } from '../src/zipf.ts'

const codes = Array.from({ length: 100 }, (_, i) => `code${i}`)

const redirectScenario: Scenario = {
  name: 'redirect-smoke',
  description: 'GET /:code with Zipf popularity over 100 codes, expecting 302',
  async prepare() {
    const pick = createZipf(codes.length, 1.1)
    return {
      next: () => ({ path: `/${codes[pick()]}`, headers: { 'user-agent': 'Mozilla/5.0 (bench)' } }),
      check: { status: 302, header: { location: /^https:\/\/example\.com\/code\d+$/ } },
    }
  },
  connections: 10,
  durationSeconds: 1,
}

/** The same requests, declared: wrk can run it. `mixes` keeps each target's for the asserts. */
function declaredRedirect(mixes: RequestMix[]): Scenario {
  return {
    ...redirectScenario,
    name: 'redirect-declared',
    prepare() {
      const requests = requestMix({
        path: '/{pick}',
        headers: { 'user-agent': 'Mozilla/5.0 (bench)' },
        pick: { values: codes, distribution: { zipf: 1.1 } },
      })
      mixes.push(requests)
      return Promise.resolve({
        requests,
        check: { status: 302, header: { location: /^https:\/\/example\.com\/code\d+$/ } },
      })
    },
  }
}

const silent = () => {}

describe('runBenchmark with wrk', () => {
  it('when the bare baseline is measured against itself (smoke), reports wrk figures, CPU on both sides and the ratios of its one round', async () => {
    const mixes: RequestMix[] = []
    const result = await runBenchmark({
      project: 'bench-self-test',
      scenario: declaredRedirect(mixes),
      targets: [
        baselineTarget({ shape: 'redirect', name: 'as-subject', kind: 'subject' }),
        baselineTarget({ shape: 'redirect' }),
      ],
      smoke: true,
      generator: 'wrk',
      command: 'vitest run test/run-benchmark.test.ts',
      log: silent,
    })

    const [subject, baseline] = result.targets
    const round = subject!.rounds[0]!
    expect(result.tool).toMatch(/^wrk \d+\.\d+\.\d+$/)
    expect(result.generator).toMatchObject({ name: 'wrk', threads: 1 })
    expect(round.requests).toBeGreaterThan(0)
    expect(round.statuses).toEqual({ '302': round.requests })
    expect(subject!.errors).toBe(0)
    expect(round.latencyMs.p99).toBeGreaterThanOrEqual(round.latencyMs.p50)
    expect(round.cpuSeconds.target).toBeGreaterThan(0)
    expect(round.cpuSeconds.generator).toBeGreaterThan(0)
    expect(typeof round.generatorSaturated).toBe('boolean')
    expect(subject!.ratio!.cpuMicrosPerRequest!.median).toBeCloseTo(
      subject!.cpuMicrosPerRequest! / baseline!.cpuMicrosPerRequest!,
      9
    )
    expect(['requestsPerSecond', 'cpuMicrosPerRequest']).toContain(subject!.judgedBy)
    // Every request built for a target, by the check samples and by wrk, is in its mix.
    for (const mix of mixes) {
      expect(mix.sent.total).toBeGreaterThan(50 + round.requests / 2)
      expect(mix.sent.byPick.reduce((sum, n) => sum + n, 0)).toBe(mix.sent.total)
    }
  })

  it('when a scenario draws with next() only, runs on autocannon instead and says why', async () => {
    const notes: string[] = []

    const result = await runBenchmark({
      project: 'bench-self-test',
      scenario: redirectScenario,
      targets: [baselineTarget({ shape: 'redirect' })],
      smoke: true,
      generator: 'wrk',
      command: 'vitest',
      log: (line) => notes.push(line),
    })

    expect(result.tool).toMatch(/^autocannon /)
    expect(result.notes[0]).toMatch(/autocannon instead of wrk.*next\(\)/)
    expect(notes.some((line) => /autocannon instead of wrk/.test(line))).toBe(true)
  })
})

describe('chooseGenerator', () => {
  it('when nothing is asked, takes BENCH_GENERATOR, else wrk where found, else autocannon', () => {
    expect(chooseGenerator(undefined, { BENCH_GENERATOR: 'autocannon', PATH: '/usr/bin' })).toBe(
      'autocannon'
    )
    expect(chooseGenerator(undefined, { PATH: '/nonexistent' })).toBe('autocannon')
    expect(chooseGenerator('wrk', { BENCH_GENERATOR: 'autocannon' })).toBe('wrk')
    expect(() => chooseGenerator(undefined, { BENCH_GENERATOR: 'ab' })).toThrow(/wrk or autocannon/)
  })
})

describe('runBenchmark with autocannon', () => {
  it('when the bare baseline is measured against itself (smoke), reports req/s > 0 and the paired ratio of its one round', async () => {
    const result = await runBenchmark({
      project: 'bench-self-test',
      scenario: redirectScenario,
      generator: 'autocannon',
      targets: [
        baselineTarget({ shape: 'redirect', name: 'as-subject', kind: 'subject' }),
        baselineTarget({ shape: 'redirect' }),
      ],
      smoke: true,
      command: 'vitest run test/run-benchmark.test.ts',
      log: silent,
    })

    const [subject, baseline] = result.targets
    expect(result.smoke).toBe(true)
    expect(result.rounds).toBe(1)
    expect(result.tool).toMatch(/^autocannon \d+\.\d+\.\d+$/)
    expect(result.expectedStatuses).toEqual([302])
    expect(subject!.requestsPerSecond.median).toBeGreaterThan(0)
    expect(baseline!.requestsPerSecond.median).toBeGreaterThan(0)
    expect(subject!.errors).toBe(0)
    expect(subject!.rounds[0]!.statuses['302']).toBe(subject!.rounds[0]!.requests)
    // The ratio is the paired one: this round's subject over this round's baseline. (Not a band
    // around 1: the test suite shares the cores with other suites, and one 1 s round of the same
    // server has measured 4.8x its twin.)
    expect(subject!.ratio!.requestsPerSecond!.median).toBeCloseTo(
      subject!.rounds[0]!.requestsPerSecond / baseline!.rounds[0]!.requestsPerSecond,
      9
    )
    expect(baseline!.ratio!.requestsPerSecond).toEqual({ median: 1, min: 1, max: 1 })
    expect(subject!.cpuCores.target).toBeGreaterThan(0)
    expect(subject!.cpuCores.generator).toBeGreaterThan(0)
    expect(subject!.rssBytes).toBeGreaterThan(10 * 2 ** 20)
    expect(result.machine.cores).toBeGreaterThan(0)
    expect(result.versions.hono).toMatch(/^\d+\./)
  })

  it('when the subject answers the wrong status, refuses to report with BenchCheckError', async () => {
    const subject = baselineTarget({ shape: 'text', name: 'wrong-shape', kind: 'subject' })

    const run = runBenchmark({
      project: 'bench-self-test',
      scenario: declaredRedirect([]),
      targets: [subject, baselineTarget({ shape: 'redirect' })],
      smoke: true,
      command: 'vitest',
      log: silent,
    })

    const error = await run.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BenchCheckError)
    const mismatches = (error as BenchCheckError).mismatches
    expect(mismatches).toHaveLength(50)
    expect(mismatches.every((m) => m.target === 'wrong-shape')).toBe(true)
    expect(mismatches[0]!.problem).toMatch(/status 200, expected 302/)
  })

  it('when fewer than 5 rounds are asked outside smoke, throws before starting anything', async () => {
    const run = runBenchmark({
      project: 'bench-self-test',
      scenario: redirectScenario,
      targets: [baselineTarget({ shape: 'redirect' })],
      rounds: 3,
      command: 'vitest',
      log: silent,
    })

    await expect(run).rejects.toThrow(/rounds must be an integer >= 5/)
  })
})

describe('roundOrder', () => {
  it('when rounds go on, starts each one a target later, so every target takes every position', () => {
    const targets = ['kit', 'peer', 'bare']

    const orders = [1, 2, 3, 4].map((round) => roundOrder(targets, round))

    expect(orders).toEqual([
      ['kit', 'peer', 'bare'],
      ['peer', 'bare', 'kit'],
      ['bare', 'kit', 'peer'],
      ['kit', 'peer', 'bare'],
    ])
    for (const target of targets) {
      expect(new Set(orders.slice(0, 3).map((order) => order.indexOf(target))).size).toBe(3)
    }
  })
})

describe('spawnTarget', () => {
  it('when the entry exits before it is ready, rejects with its output', async () => {
    const crashing = spawnTarget({
      name: 'crashes',
      kind: 'subject',
      entry: new URL('../src/baseline.ts', import.meta.url).pathname,
      env: { BASELINE: 'nope' },
    })

    const error = await crashing.start().catch((e: unknown) => e)

    expect(error).toBeInstanceOf(TargetStartError)
    expect((error as TargetStartError).message).toMatch(/exited \(code 1/)
    expect((error as TargetStartError).output).toMatch(/BASELINE must be one or more of/)
  })
})
