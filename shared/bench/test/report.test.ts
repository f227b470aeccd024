import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { compareResults } from '../src/cli.ts'
import { GENERATED_MARK, newestResults, renderReport, saveResult } from '../src/report.ts'
import { summarizeTargets } from '../src/stats.ts'
import type { BenchResult, RoundResult } from '../src/types.ts'

function round(index: number, rps: number, p99: number): RoundResult {
  return {
    round: index,
    durationSeconds: 10,
    requests: rps * 10,
    requestsPerSecond: rps,
    latencyMs: { p50: p99 / 5, p97_5: p99 / 2, p99 },
    errors: 0,
    statuses: { '302': rps * 10 },
    unexpectedStatuses: {},
    cpuSeconds: { target: 9.5, generator: 5.1 },
    rssBytes: 80 * 2 ** 20,
  }
}

function syntheticResult(overrides: Partial<BenchResult> = {}): BenchResult {
  return {
    project: 'url-shortener',
    scenario: 'redirect',
    description: 'GET /:code, Zipf over 1,000 links',
    date: '2026-11-21T10:00:00.000Z',
    command: 'pnpm --filter @kit/url-shortener bench',
    smoke: false,
    tool: 'autocannon 9.0.0',
    connections: 50,
    durationSeconds: 10,
    pipelining: 1,
    warmupSeconds: 1,
    rounds: 3,
    expectedStatuses: [302],
    machine: {
      cpuModel: 'AMD EPYC 7B13',
      cores: 2,
      totalMemoryBytes: 24 * 2 ** 30,
      os: 'Linux 6.1',
    },
    node: 'v20.20.2',
    git: { sha: '0123456789abcdef0123456789abcdef01234567', dirty: true },
    versions: { hono: '4.13.19', autocannon: '9.0.0' },
    targets: summarizeTargets([
      {
        name: 'url-shortener',
        kind: 'subject',
        rounds: [round(1, 20_000, 4), round(2, 22_000, 4.4), round(3, 18_000, 5)],
      },
      {
        name: 'bare-hono-redirect',
        kind: 'baseline',
        rounds: [round(1, 40_000, 2), round(2, 40_000, 2), round(3, 40_000, 2)],
      },
    ]),
    notes: ['subject runs with the SQLite file on tmpfs'],
    ...overrides,
  }
}

const dirs: string[] = []
function tempBenchmarksDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kit-bench-report-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('saveResult and renderReport', () => {
  it('when a result is saved, writes the dated JSON, a REPORT.md with table and chart, and the SVG', async () => {
    const dir = tempBenchmarksDir()

    const { file } = await saveResult(dir, syntheticResult())

    expect(file).toBe(join(dir, 'results', '2026-11-21-redirect.json'))
    expect(JSON.parse(readFileSync(file, 'utf8')).scenario).toBe('redirect')
    const report = readFileSync(join(dir, 'REPORT.md'), 'utf8')
    expect(report).toContain(GENERATED_MARK)
    expect(report).toContain('0123456789ab')
    expect(report).toContain('(uncommitted changes)')
    expect(report).toContain('2026-11-21T10:00:00.000Z')
    expect(report).toContain('`pnpm --filter @kit/url-shortener bench`')
    expect(report).toContain('AMD EPYC 7B13, 2 cores, 24 GiB RAM')
    expect(report).toContain('hono 4.13.19')
    expect(report).toContain('shares its 2 cores')
    expect(report).toMatch(/\| \*\*url-shortener\*\* \| subject \| 20,000 \(18,000–22,000\) \|/)
    // Paired ratios: 0.5, 0.55, 0.45 → 0.5 (0.45–0.55); p99 2, 2.2, 2.5 → 2.2.
    expect(report).toContain('0.5× (0.45–0.55)')
    expect(report).toContain('2.2× (2–2.5)')
    // CPU µs/req: 9.5 s over 200k, 220k, 180k requests against 9.5 s over 400k each.
    expect(report).toContain('2× (1.82–2.22)')
    expect(report).toMatch(/\| × baseline CPU µs\/req \(min–max\) \| judged by \|/)
    expect(report).toMatch(/\| 2× \(1\.82–2\.22\) \| req\/s \|$/m)
    expect(report).toContain('![redirect: req/s per target](charts/redirect.svg)')
    expect(report).toContain('- subject runs with the SQLite file on tmpfs')
    const svg = readFileSync(join(dir, 'charts', 'redirect.svg'), 'utf8')
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    expect(svg.match(/<rect x="170"/g)).toHaveLength(2)
    expect(svg).toContain('20,000 req/s · 0.5×')
  })

  it('when a scenario has several results, reports the newest measurement and never a smoke run over it', async () => {
    const dir = tempBenchmarksDir()
    await saveResult(dir, syntheticResult({ date: '2026-11-20T09:00:00.000Z', command: 'old run' }))
    await saveResult(dir, syntheticResult({ date: '2026-11-21T09:00:00.000Z', command: 'new run' }))
    await saveResult(
      dir,
      syntheticResult({ date: '2026-11-22T09:00:00.000Z', command: 'smoke', smoke: true })
    )
    await saveResult(
      dir,
      syntheticResult({
        scenario: 'create',
        date: '2026-11-19T09:00:00.000Z',
        command: 'create run',
      })
    )

    const newest = await newestResults(dir)
    await renderReport(dir)

    expect(newest.map((r) => [r.scenario, r.command])).toEqual([
      ['create', 'create run'],
      ['redirect', 'new run'],
    ])
    const report = readFileSync(join(dir, 'REPORT.md'), 'utf8')
    expect(report).toContain('## create')
    expect(report).not.toContain('old run')
    expect(report).not.toContain('`smoke`')
  })

  it('when the project wrote generated sections, appends them after the scenarios in name order', async () => {
    const dir = tempBenchmarksDir()
    mkdirSync(join(dir, 'sections'))
    writeFileSync(join(dir, 'sections', 'b-chart.md'), '## Chart\n\n![chart](charts/x.svg)\n')
    writeFileSync(join(dir, 'sections', 'a-accuracy.md'), '## Accuracy\n\n| a | b |\n')
    writeFileSync(join(dir, 'sections', 'notes.txt'), 'not a section')

    await saveResult(dir, syntheticResult())

    const report = readFileSync(join(dir, 'REPORT.md'), 'utf8')
    const scenario = report.indexOf('## redirect')
    const accuracy = report.indexOf('## Accuracy')
    const chart = report.indexOf('## Chart')
    expect(scenario).toBeGreaterThan(-1)
    expect(accuracy).toBeGreaterThan(scenario)
    expect(chart).toBeGreaterThan(accuracy)
    expect(report).not.toContain('not a section')
  })

  it('when the generator was saturated in most rounds, the table says the target is judged by CPU µs/req and why', async () => {
    const dir = tempBenchmarksDir()
    const busy = (r: RoundResult): RoundResult => ({ ...r, generatorSaturated: true })
    const result = syntheticResult({
      tool: 'wrk 4.1.0',
      generator: { name: 'wrk', version: '4.1.0', threads: 1 },
      targets: summarizeTargets([
        { name: 'kit', kind: 'subject', rounds: [round(1, 20_000, 4), busy(round(2, 20_000, 4))] },
        {
          name: 'bare',
          kind: 'baseline',
          rounds: [busy(round(1, 40_000, 2)), round(2, 40_000, 2)],
        },
      ]),
    })

    await saveResult(dir, result)

    const report = readFileSync(join(dir, 'REPORT.md'), 'utf8')
    expect(report).toContain(
      'wrk 4.1.0 (1 thread, its own process, requests drawn by a generated Lua script)'
    )
    expect(report).toMatch(/\| \*\*kit\*\* .*\| CPU µs\/req \(generator saturated 1\/2\) \|$/m)
    expect(report).toMatch(/\| \*\*bare\*\* .*\| CPU µs\/req \(generator saturated 1\/2\) \|$/m)
  })

  it('when the scenario name is not file-safe, refuses to save', async () => {
    const dir = tempBenchmarksDir()

    await expect(saveResult(dir, syntheticResult({ scenario: '../escape' }))).rejects.toThrow(
      /kebab-case/
    )
  })
})

describe('kit-bench compare', () => {
  it('when two results share targets, prints the change in req/s, p99 and ratio per target', () => {
    const before = syntheticResult()
    const after = syntheticResult({
      date: '2026-11-22T10:00:00.000Z',
      targets: summarizeTargets([
        { name: 'url-shortener', kind: 'subject', rounds: [round(1, 30_000, 3)] },
        { name: 'bare-hono-redirect', kind: 'baseline', rounds: [round(1, 40_000, 2)] },
      ]),
    })

    const output = compareResults(before, after)

    expect(output).toContain('redirect: 2026-11-21T10:00:00.000Z')
    expect(output).toMatch(
      /url-shortener\s+20,000 → 30,000 \(\+50\.0 %\)\s+4\.4 → 3 \(−31\.8 %\)\s+0\.5× → 0\.75× \(\+50\.0 %\)/
    )
  })
})
