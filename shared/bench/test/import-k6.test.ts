import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../src/cli.ts'
import { K6SummaryError, type K6Summary, importK6Summary } from '../src/import-k6.ts'

function k6Summary({
  count,
  p99,
  failed = 0,
  dropped = 0,
}: {
  count: number
  p99: number
  failed?: number
  dropped?: number
}): K6Summary {
  const trend = { med: p99 / 4, 'p(95)': p99 / 2, 'p(97.5)': p99 / 1.5, 'p(99)': p99, max: p99 * 2 }
  return {
    kit: {
      project: 'url-shortener',
      scenario: 'redirect',
      description: 'GET /:code, Zipf over 1,000 links',
      baseUrl: 'http://127.0.0.1:3000',
      date: '2026-11-21T12:00:00.000Z',
      durationSeconds: 30,
      expectedStatus: 302,
      k6: { executor: 'constant-arrival-rate', rate: 1000, timeUnit: '1s' },
    },
    state: { testRunDurationMs: 34_000 },
    metrics: {
      // Totals include the 1,000 setup requests; the scenario's sub-metrics do not.
      http_reqs: { type: 'counter', values: { count: count + 1000, rate: (count + 1000) / 34 } },
      'http_reqs{scenario:redirect}': { type: 'counter', values: { count, rate: count / 34 } },
      http_req_duration: { type: 'trend', values: { ...trend, 'p(99)': 99 } },
      'http_req_duration{scenario:redirect}': { type: 'trend', values: trend },
      'http_req_failed{scenario:redirect}': {
        type: 'rate',
        values: { rate: failed / count, passes: failed, fails: count - failed },
        thresholds: { 'rate<0.01': { ok: failed / count < 0.01 } },
      },
      dropped_iterations: { type: 'counter', values: { count: dropped, rate: 0 } },
      vus_max: { type: 'gauge', values: { value: 40, min: 20, max: 40 } },
    },
  }
}

describe('importK6Summary', () => {
  it('when given a subject and a baseline summary, uses the scenario sub-metrics and computes the ratio', async () => {
    const result = await importK6Summary(
      k6Summary({ count: 30_000, p99: 8, failed: 600, dropped: 12 }),
      {
        scenario: 'redirect-k6',
        baseline: { summary: k6Summary({ count: 60_000, p99: 4 }), name: 'bare-hono-redirect' },
      }
    )

    const [subject, baseline] = result.targets
    expect(result.tool).toBe('k6')
    expect(result.command).toBe(
      'k6 run -e BASE_URL=http://127.0.0.1:3000 -e SCENARIO=redirect loadtests/url-shortener.js'
    )
    expect(subject!.requestsPerSecond.median).toBe(1000)
    expect(subject!.latencyMs).toEqual({ p50: 2, p97_5: 8 / 1.5, p99: 8 })
    expect(subject!.errors).toBe(600)
    expect(subject!.cpuCores).toEqual({ target: null, generator: null })
    expect(baseline!.kind).toBe('baseline')
    expect(subject!.ratio!.requestsPerSecond).toEqual({ median: 0.5, min: 0.5, max: 0.5 })
    expect(subject!.ratio!.p99).toEqual({ median: 2, min: 2, max: 2 })
    expect(result.notes.join('\n')).toMatch(/dropped 12 iterations/)
    expect(result.notes.join('\n')).toMatch(
      /threshold failed: http_req_failed\{scenario:redirect\} rate<0.01/
    )
  })

  it('when the summary lacks p(99), throws naming summaryTrendStats', async () => {
    const summary = k6Summary({ count: 100, p99: 5 })
    delete summary.metrics['http_req_duration{scenario:redirect}']!.values['p(99)']

    await expect(importK6Summary(summary, { scenario: 'redirect-k6' })).rejects.toThrow(
      K6SummaryError
    )
    await expect(importK6Summary(summary, { scenario: 'redirect-k6' })).rejects.toThrow(
      /summaryTrendStats/
    )
  })
})

describe('kit-bench import-k6', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kit-bench-k6-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('when run on a summary file, saves a k6 result and regenerates the report', async () => {
    const summaryFile = join(dir, 'k6-redirect.json')
    writeFileSync(summaryFile, JSON.stringify(k6Summary({ count: 30_000, p99: 8 })))

    const output = await runCli([
      'import-k6',
      summaryFile,
      join(dir, 'benchmarks'),
      '--scenario',
      'redirect-k6',
    ])

    expect(output).toMatch(/wrote .*2026-11-21-redirect-k6\.json/)
    expect(readdirSync(join(dir, 'benchmarks', 'results'))).toEqual(['2026-11-21-redirect-k6.json'])
    expect(readFileSync(join(dir, 'benchmarks', 'REPORT.md'), 'utf8')).toMatch(
      /## redirect-k6[\s\S]*load: k6, 30 s/
    )
  })

  it('when the scenario is missing, fails with the usage', async () => {
    await expect(runCli(['import-k6', 'x.json', dir])).rejects.toThrow(/usage:/)
  })
})
