// k6 load test of the rate limiter. One scenario per run, open model (arrival rate), against
// every algorithm's route at once (or one algorithm).
//
//   POLICIES='{"routes":{"algorithms":{"limit":1000000000,"windowMs":60000}}}' pnpm rate-limiter
//   k6 run -e BASE_URL=http://127.0.0.1:3001 -e SCENARIO=all-pass loadtests/rate-limiter.js
//
// Env: BASE_URL (default http://127.0.0.1:3001), SCENARIO (all-pass | all-rejected | bursty,
// default all-pass), ALGORITHM (one of the five, or all: the default), RESULTS_DIR (default
// loadtests/results, must exist). The service must run with the scenario's `serverEnv` (its
// POLICIES): setup() checks the RateLimit-Policy it answers. Scenario data:
// scenarios/rate-limiter.js.
import { check, fail } from 'k6'
import http from 'k6/http'
import { Counter } from 'k6/metrics'
import { kitSummary } from './lib/summary.js'
import { algorithms, project, scenarios } from './scenarios/rate-limiter.js'

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3001').replace(/\/$/, '')
const SCENARIO = __ENV.SCENARIO || 'all-pass'
const ALGORITHM = __ENV.ALGORITHM || 'all'
const RESULTS_DIR = __ENV.RESULTS_DIR || 'loadtests/results'

const scenario = scenarios[SCENARIO] ?? unknown('SCENARIO', Object.keys(scenarios))
const selected =
  ALGORITHM === 'all'
    ? algorithms
    : algorithms.includes(ALGORITHM)
      ? [ALGORITHM]
      : unknown('ALGORITHM', ['all', ...algorithms])
// With one algorithm the k6 scenario and the result file carry its name.
const runName = ALGORITHM === 'all' ? SCENARIO : `${SCENARIO}-${ALGORITHM}`
const { request } = scenario
const expectStatuses = Array.isArray(request.expectStatus)
  ? request.expectStatus
  : [request.expectStatus]

/**
 * @param {string} name
 * @param {string[]} allowed
 * @returns {never}
 */
function unknown(name, allowed) {
  throw new Error(`unknown ${name} ${__ENV[name]}: use one of ${allowed.join(', ')}`)
}

// Admitted (2xx) and refused (429) requests per algorithm: the shape of each algorithm under
// the same arrival pattern. `--out csv=...` keeps them over time.
const admitted = new Counter('rate_limiter_admitted')
const refused = new Counter('rate_limiter_refused')

// Only the scenario's statuses count as successes: a 429 is the answer under test in
// all-rejected and bursty, a failure in all-pass.
http.setResponseCallback(http.expectedStatuses(...expectStatuses))

/** @type {import('k6/options').Options} */
export const options = {
  // One k6 scenario per algorithm, started together: every route sees the same arrival pattern.
  scenarios: Object.fromEntries(
    selected.map((algorithm) => [
      selected.length === 1 ? runName : `${SCENARIO}-${algorithm}`,
      { ...scenario.k6, exec: 'hit', env: { ALGORITHM_ROUTE: algorithm }, tags: { algorithm } },
    ])
  ),
  thresholds: {
    ...scenario.thresholds,
    // Sub-metrics appear in the summary only when a threshold names them.
    ...Object.fromEntries(
      selected.flatMap((algorithm) => [
        [`http_req_duration{algorithm:${algorithm}}`, ['max>=0']],
        [`rate_limiter_admitted{algorithm:${algorithm}}`, ['count>=0']],
        [`rate_limiter_refused{algorithm:${algorithm}}`, ['count>=0']],
      ])
    ),
    ...(selected.length === 1
      ? {
          [`http_reqs{scenario:${runName}}`]: ['count>0'],
          [`http_req_duration{scenario:${runName}}`]: ['max>=0'],
          [`http_req_failed{scenario:${runName}}`]: ['rate>=0'],
        }
      : {}),
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(97.5)', 'p(99)'],
  // The checks read headers only.
  discardResponseBodies: true,
}

/** @param {string} algorithm */
function routeOf(algorithm) {
  return `${BASE_URL}${request.path.replace(':algorithm', algorithm)}`
}

/**
 * Checks the service is up and runs the scenario's policy, then (all-rejected) spends the
 * quota so that every measured request is refused.
 */
export function setup() {
  const health = http.get(`${BASE_URL}/healthz`)
  if (health.status !== 200) {
    fail(`GET ${BASE_URL}/healthz answered ${health.status}: is the service up?`)
  }
  const { limit, windowMs } = scenario.algorithmPolicy
  for (const algorithm of selected) {
    // A HEAD-like probe would spend a unit too: all-rejected wants that, the others can spare one.
    const res = http.get(routeOf(algorithm), { responseCallback: http.expectedStatuses(200, 429) })
    const policy = String(res.headers['Ratelimit-Policy'] ?? '')
    const window = windowMs % 1000 === 0 ? `;w=${windowMs / 1000}` : ''
    if (policy !== `"algorithm-${algorithm}";q=${limit}${window}`) {
      fail(
        `${routeOf(algorithm)} runs RateLimit-Policy ${JSON.stringify(policy)}; start the service with ` +
          `${Object.entries(scenario.serverEnv)
            .map(([name, value]) => `${name}='${value}'`)
            .join(' ')}`
      )
    }
    if (SCENARIO !== 'all-rejected') continue
    for (let i = 0; i <= limit; i++) {
      if (
        http.get(routeOf(algorithm), { responseCallback: http.expectedStatuses(200, 429) })
          .status === 429
      )
        break
    }
  }
}

/** One request to the route of the VU's algorithm. */
export function hit() {
  const algorithm = __ENV.ALGORITHM_ROUTE ?? 'sliding-window'
  const res = http.get(routeOf(algorithm), {
    headers: request.headers,
    tags: { name: request.path },
  })
  if (res.status === 429) refused.add(1)
  else if (res.status >= 200 && res.status < 300) admitted.add(1)
  check(res, {
    'status is expected': (r) => expectStatuses.includes(r.status),
    // draft-ietf-httpapi-ratelimit-headers-11: a String name with r (and t) on every answer.
    'has RateLimit': (r) => /^"[^"]+";r=\d+(;t=\d+)?$/.test(String(r.headers.Ratelimit ?? '')),
    'a 429 has Retry-After >= 1 and a problem': (r) =>
      r.status !== 429 ||
      (Number(r.headers['Retry-After']) >= 1 &&
        String(r.headers['Content-Type']).startsWith('application/problem+json')),
  })
}

/** @param {import('./lib/summary.js').SummaryData} data */
export function handleSummary(data) {
  return kitSummary(data, {
    project,
    scenario: runName,
    description: scenario.description,
    baseUrl: BASE_URL,
    expectedStatus: expectStatuses[0] ?? 200,
    k6: scenario.k6,
    resultsDir: RESULTS_DIR,
  })
}
