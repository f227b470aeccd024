// k6 load test of the notification service: events triggered at a fixed arrival rate, each fanned
// out to several subscribers on every channel.
//
//   pnpm notifications                                   # embedded: Redis, providers, workers
//   k6 run -e BASE_URL=http://127.0.0.1:3004 -e SCENARIO=fan-out loadtests/notifications.js
//
// Env: BASE_URL (default http://127.0.0.1:3004), SCENARIO (fan-out | trigger-idempotent, default
// fan-out), RESULTS_DIR (default loadtests/results, must exist). setup() creates the subscribers
// (email, phone, push token; a webhook endpoint only when WEBHOOK_URL is given, as the service
// refuses non-public endpoints unless WEBHOOK_ALLOWED_CIDRS allows them). Scenario data:
// scenarios/notifications.js.
import { check, fail } from 'k6'
import http from 'k6/http'
import { Counter } from 'k6/metrics'
import { kitSummary } from './lib/summary.js'
import { project, scenarios } from './scenarios/notifications.js'

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3004').replace(/\/$/, '')
const SCENARIO = __ENV.SCENARIO || 'fan-out'
const RESULTS_DIR = __ENV.RESULTS_DIR || 'loadtests/results'
const WEBHOOK_URL = __ENV.WEBHOOK_URL || ''

const scenario =
  scenarios[SCENARIO] ??
  (() => {
    throw new Error(`unknown SCENARIO ${SCENARIO}: use one of ${Object.keys(scenarios).join(', ')}`)
  })()
const { request } = scenario

// Deliveries the accepted events asked for (recipients x channels), to compare with the
// service's delivery log after the run (GET /v1/events/:id).
const deliveriesRequested = new Counter('notifications_deliveries_requested')

http.setResponseCallback(http.expectedStatuses(request.expectStatus))

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: { [SCENARIO]: { ...scenario.k6, exec: 'triggerEvent' } },
  thresholds: {
    ...scenario.thresholds,
    [`http_reqs{scenario:${SCENARIO}}`]: ['count>0'],
    [`http_req_duration{scenario:${SCENARIO}}`]: ['max>=0'],
    [`http_req_failed{scenario:${SCENARIO}}`]: ['rate>=0'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(97.5)', 'p(99)'],
}

/** @param {number} i */
const subscriberId = (i) => `k6-sub-${i}`

/** Checks the service is up and creates the subscribers every event goes to. */
export function setup() {
  const health = http.get(`${BASE_URL}/healthz`)
  if (health.status !== 200)
    fail(`GET ${BASE_URL}/healthz answered ${health.status}: is the service up?`)
  for (let i = 0; i < scenario.subscribers; i++) {
    const id = subscriberId(i)
    const res = http.put(
      `${BASE_URL}/v1/subscribers/${id}`,
      JSON.stringify({
        email: `${id}@example.com`,
        phone: '+33612345678',
        pushTokens: [`token-${id}`],
      }),
      { headers: request.headers, responseCallback: http.expectedStatuses(200) }
    )
    if (res.status !== 200) fail(`PUT /v1/subscribers/${id} answered ${res.status}`)
    if (WEBHOOK_URL) {
      http.post(`${BASE_URL}/v1/subscribers/${id}/webhooks`, JSON.stringify({ url: WEBHOOK_URL }), {
        headers: request.headers,
        responseCallback: http.expectedStatuses(201),
      })
    }
  }
}

/** One event to `recipientsPerEvent` subscribers drawn at random. */
export function triggerEvent() {
  const recipients = []
  for (let i = 0; i < scenario.recipientsPerEvent; i++) {
    recipients.push(subscriberId(Math.floor(Math.random() * scenario.subscribers)))
  }
  const idempotent = SCENARIO === 'trigger-idempotent'
  const body = JSON.stringify({
    type: 'load.test',
    recipients: idempotent ? [subscriberId(0)] : recipients,
    channels: scenario.channels,
    data: idempotent ? {} : { at: Date.now() },
  })
  const headers = idempotent
    ? { ...request.headers, 'Idempotency-Key': `k6-${Math.floor(Math.random() * 50)}` }
    : request.headers
  const res = http.post(`${BASE_URL}${request.path}`, body, {
    headers,
    tags: { name: request.path },
  })
  if (res.status === 202 && res.headers['Idempotent-Replayed'] !== 'true') {
    deliveriesRequested.add(scenario.recipientsPerEvent * scenario.channels.length)
  }
  check(res, {
    'status is 202': (r) => r.status === 202,
    'answers the event id': (r) => /"id":"evt_/.test(String(r.body)),
  })
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
