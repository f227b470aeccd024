import { describe, expect, it } from 'vitest'
import { kitSummary, parseDuration, textSummary } from '../lib/summary.js'
import { zipfCumulative, zipfPick } from '../lib/zipf.js'

describe('lib/zipf.js', () => {
  it('when drawing, rank 0 is the most frequent and the head outweighs the tail', () => {
    const cumulative = zipfCumulative(1000, 1.1)
    const counts = new Array<number>(1000).fill(0)

    for (let i = 0; i < 100_000; i++) counts[zipfPick(cumulative, (i + 0.5) / 100_000)]! += 1

    expect(cumulative.at(-1)).toBeCloseTo(1, 12)
    expect(Math.max(...counts)).toBe(counts[0])
    expect(counts[0]! / 100_000).toBeCloseTo(cumulative[0]!, 3)
    expect(counts.slice(0, 10).reduce((a, b) => a + b)).toBeGreaterThan(
      counts.slice(500).reduce((a, b) => a + b)
    )
  })

  it('when u is at the extremes, picks the first and last rank', () => {
    const cumulative = zipfCumulative(10, 1)

    expect(zipfPick(cumulative, 0)).toBe(0)
    expect(zipfPick(cumulative, 0.999999)).toBe(9)
  })
})

const meta = {
  project: 'url-shortener',
  scenario: 'redirect',
  description: 'GET /:code',
  baseUrl: 'http://127.0.0.1:3000',
  expectedStatus: 302,
  k6: { executor: 'constant-arrival-rate', rate: 1000, timeUnit: '1s', duration: '30s' },
  resultsDir: 'loadtests/results/',
}

const data = {
  state: { testRunDurationMs: 33_000 },
  metrics: {
    'http_reqs{scenario:redirect}': { type: 'counter', values: { count: 29_400, rate: 890.9 } },
    'http_req_duration{scenario:redirect}': {
      type: 'trend',
      values: { med: 1.2, 'p(95)': 4.5, 'p(99)': 9.75, max: 40 },
    },
    'http_req_failed{scenario:redirect}': {
      type: 'rate',
      values: { rate: 0.02, passes: 588, fails: 28_812 },
    },
    http_req_failed: {
      type: 'rate',
      values: { rate: 0.02, passes: 588, fails: 28_812 },
      thresholds: { 'rate<0.01': { ok: false } },
    },
    dropped_iterations: { type: 'counter', values: { count: 600, rate: 18 } },
  },
}

describe('lib/summary.js', () => {
  it('when k6 ends, writes the data with a kit block to results/k6-<scenario>.json and a text summary', () => {
    const files = kitSummary(data, meta, new Date('2026-11-21T12:00:00Z'))

    expect(Object.keys(files).sort()).toEqual(['loadtests/results/k6-redirect.json', 'stdout'])
    const written = JSON.parse(files['loadtests/results/k6-redirect.json']!)
    expect(written.kit).toEqual({
      project: 'url-shortener',
      scenario: 'redirect',
      description: 'GET /:code',
      baseUrl: 'http://127.0.0.1:3000',
      date: '2026-11-21T12:00:00.000Z',
      durationSeconds: 30,
      expectedStatus: 302,
      k6: meta.k6,
    })
    expect(written.metrics).toEqual(data.metrics)
  })

  it('when summarising, reports the scenario req/s over its own duration, latency, failures and thresholds', () => {
    const text = textSummary(data, meta)

    expect(text).toContain('29400 in 30 s = 980.0 req/s')
    expect(text).toContain('p50 1.20  p95 4.50  p99 9.75')
    expect(text).toContain('2.00 % (588 requests)')
    expect(text).toContain('600 iterations (the offered rate was not sustained)')
    expect(text).toMatch(/FAIL\s+http_req_failed rate<0.01/)
  })

  it('when parsing k6 durations, sums the units and rejects anything else', () => {
    expect(parseDuration('1m30s')).toBe(90)
    expect(parseDuration('500ms')).toBe(0.5)
    expect(() => parseDuration('30')).toThrow(RangeError)
    expect(() => parseDuration('30x')).toThrow(RangeError)
  })
})
