// k6 load test of the URL shortener. One scenario per run, open model (arrival rate).
//
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e SCENARIO=redirect loadtests/url-shortener.js
//
// Env: BASE_URL (default http://127.0.0.1:3000), SCENARIO (redirect | redirect-tracked |
// create, default redirect), API_KEY (sent as X-API-Key on POST when set), RESULTS_DIR
// (default loadtests/results, must exist). Scenario data: scenarios/url-shortener.js.
import { check, fail } from 'k6'
import { SharedArray } from 'k6/data'
import exec from 'k6/execution'
import http from 'k6/http'
import { kitSummary } from './lib/summary.js'
import { zipfCumulative, zipfPick } from './lib/zipf.js'
import { links, project, scenarios } from './scenarios/url-shortener.js'

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/$/, '')
const SCENARIO = __ENV.SCENARIO || 'redirect'
const API_KEY = __ENV.API_KEY || ''
const RESULTS_DIR = __ENV.RESULTS_DIR || 'loadtests/results'

const scenario = scenarios[SCENARIO] ?? unknownScenario()
const { request } = scenario

/** @returns {never} */
function unknownScenario() {
  throw new Error(`unknown SCENARIO ${SCENARIO}: use one of ${Object.keys(scenarios).join(', ')}`)
}

// Built once in the init context and shared read-only by every VU (not copied per VU).
const cumulative = new SharedArray('zipf-cumulative', () =>
  zipfCumulative(links.count, links.zipfExponent)
)

// Only the scenario's status is a success (the default, 200-399, would count a 301 or 200 as OK).
const expected = http.expectedStatuses(request.expectStatus)

/** @type {Record<string, string>} */
const postHeaders = {
  'Content-Type': 'application/json',
  ...(API_KEY ? { 'X-API-Key': API_KEY } : {}),
}

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: { [SCENARIO]: { ...scenario.k6 } },
  thresholds: {
    ...scenario.thresholds,
    // Sub-metrics appear in the summary only when a threshold names them; these scope the
    // figures to the measured scenario, leaving out the requests setup() made.
    [`http_reqs{scenario:${SCENARIO}}`]: ['count>0'],
    [`http_req_duration{scenario:${SCENARIO}}`]: ['max>=0'],
    [`http_req_failed{scenario:${SCENARIO}}`]: ['rate>=0'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(97.5)', 'p(99)'],
  // The 302 is the answer being measured; following it would load example.com.
  maxRedirects: 0,
  discardResponseBodies: true,
}

/**
 * Checks the service is up, then (redirect scenarios) creates the links and hands their codes
 * to every VU.
 * @returns {{ runId: string, codes: string[] }}
 */
export function setup() {
  const health = http.get(`${BASE_URL}/healthz`)
  if (health.status !== 200) {
    fail(`GET ${BASE_URL}/healthz answered ${health.status}: is the service up?`)
  }
  const runId = Date.now().toString(36)
  /** @type {string[]} */
  const codes = []
  if (request.kind !== 'redirect') return { runId, codes }

  const batchSize = 50
  for (let start = 0; start < links.count; start += batchSize) {
    /** @type {import('k6/http').ObjectBatchRequest[]} */
    const batch = []
    for (let i = start; i < Math.min(start + batchSize, links.count); i++) {
      batch.push({
        method: 'POST',
        url: `${BASE_URL}/api/links`,
        body: JSON.stringify({ url: `${links.urlPrefix}${runId}/${i}` }),
        params: { headers: postHeaders, responseType: 'text' },
      })
    }
    for (const res of http.batch(batch)) {
      if (res.status !== 201) {
        fail(`POST /api/links answered ${res.status}: ${String(res.body).slice(0, 200)}`)
      }
      codes.push(String(res.json('code')))
    }
  }
  return { runId, codes }
}

/** @param {{ runId: string, codes: string[] }} data */
export default function (data) {
  if (request.kind === 'redirect') {
    const code = data.codes[zipfPick(cumulative, Math.random())]
    const res = http.get(`${BASE_URL}/${code}`, {
      headers: request.headers,
      responseCallback: expected,
      // One tag value for all codes: per-URL tags would make 1,000 time series.
      tags: { name: 'GET /:code' },
    })
    check(res, {
      'status is 302': (r) => r.status === 302,
      'has Location': (r) => Boolean(r.headers.Location),
    })
  } else {
    const unique = `${data.runId}-${exec.vu.idInTest}-${exec.vu.iterationInScenario}`
    const body = JSON.stringify(
      Object.fromEntries(
        Object.entries(request.body).map(([key, value]) => [key, value.replace('{unique}', unique)])
      )
    )
    const res = http.post(`${BASE_URL}${request.path}`, body, {
      headers: { ...request.headers, ...postHeaders },
      responseCallback: expected,
    })
    check(res, { 'status is 201': (r) => r.status === 201 })
  }
}

/** @param {import('./lib/summary.js').SummaryData} data */
export function handleSummary(data) {
  return kitSummary(data, {
    project,
    scenario: SCENARIO,
    description: scenario.description,
    baseUrl: BASE_URL,
    expectedStatus: request.expectStatus,
    k6: scenario.k6,
    resultsDir: RESULTS_DIR,
  })
}
