// k6 load test of the task queue's producer API: one scenario per run, open model (arrival
// rate), against a running service.
//
//   pnpm task-queue                      # embedded Redis and one worker, on :3002
//   k6 run -e BASE_URL=http://127.0.0.1:3002 -e SCENARIO=enqueue-single loadtests/task-queue.js
//
// Env: BASE_URL (default http://127.0.0.1:3002), SCENARIO (enqueue-single | enqueue-bulk,
// default enqueue-single), TENANTS (0 = none, the default; N spreads jobs over N tenants, so
// they go through fair scheduling), RESULTS_DIR (default loadtests/results, must exist).
// Scenario data: scenarios/task-queue.js (the Node benchmark reads the same file).
import { check, fail } from 'k6'
import http from 'k6/http'
import { Counter } from 'k6/metrics'
import { kitSummary } from './lib/summary.js'
import { project, scenarios } from './scenarios/task-queue.js'

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3002').replace(/\/$/, '')
const SCENARIO = __ENV.SCENARIO || 'enqueue-single'
const TENANTS = Number(__ENV.TENANTS || 0)
const RESULTS_DIR = __ENV.RESULTS_DIR || 'loadtests/results'

const scenario =
  scenarios[SCENARIO] ??
  (() => {
    throw new Error(`unknown SCENARIO ${SCENARIO}: use one of ${Object.keys(scenarios).join(', ')}`)
  })()
const { request } = scenario

/** Jobs the service acknowledged (201), counted by job, not by request. */
const enqueued = new Counter('task_queue_jobs_enqueued')

http.setResponseCallback(http.expectedStatuses(request.expectStatus))

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: { [SCENARIO]: { ...scenario.k6, exec: 'enqueue' } },
  thresholds: {
    ...scenario.thresholds,
    [`http_reqs{scenario:${SCENARIO}}`]: ['count>0'],
    [`http_req_duration{scenario:${SCENARIO}}`]: ['max>=0'],
    [`http_req_failed{scenario:${SCENARIO}}`]: ['rate>=0'],
    task_queue_jobs_enqueued: ['count>0'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(97.5)', 'p(99)'],
}

/** Checks the service is up and ready (Redis reachable, noeviction) before measuring. */
export function setup() {
  const ready = http.get(`${BASE_URL}/readyz`, {
    responseCallback: http.expectedStatuses(200, 503),
  })
  if (ready.status !== 200) fail(`GET ${BASE_URL}/readyz answered ${ready.status}: ${ready.body}`)
}

/** The request body, with a tenant per job when TENANTS > 0. */
function body() {
  if (TENANTS === 0) return JSON.stringify(request.body)
  const tenant = () => `tenant-${Math.floor(Math.random() * TENANTS)}`
  const b = /** @type {any} */ (request.body)
  return JSON.stringify(
    Array.isArray(b.jobs)
      ? { jobs: b.jobs.map((/** @type {object} */ j) => ({ ...j, tenant: tenant() })) }
      : { ...b, tenant: tenant() }
  )
}

export function enqueue() {
  const res = http.post(`${BASE_URL}${request.path}`, body(), {
    headers: request.headers,
    tags: { name: request.path },
  })
  const ok = check(res, {
    'status is 201': (r) => r.status === request.expectStatus,
    'answers the job ids': (r) => {
      const parsed = /** @type {any} */ (r.json())
      return request.jobsPerRequest === 1
        ? typeof parsed.id === 'string'
        : parsed.jobs.length === request.jobsPerRequest
    },
  })
  if (ok) enqueued.add(request.jobsPerRequest)
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
