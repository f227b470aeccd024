// Load scenarios of the rate limiter: pure data (no imports), read by the k6 script
// (loadtests/rate-limiter.js) and by the project's Node driver (benchmarks/run.ts).

/**
 * @typedef {import('./types').K6Params} K6Params
 * @typedef {import('./types').NodeParams} NodeParams
 * @typedef {import('./types').Threshold} Threshold
 * @typedef {{
 *   description: string,
 *   serverEnv: Record<string, string>,
 *   algorithmPolicy: { limit: number, windowMs: number },
 *   request: {
 *     kind: 'algorithm',
 *     method: 'GET',
 *     path: '/api/algorithms/:algorithm',
 *     headers: Record<string, string>,
 *     expectStatus: number | number[],
 *   },
 *   k6: K6Params,
 *   node: NodeParams,
 *   thresholds: Record<string, Threshold[]>,
 * }} RateLimiterScenario
 */

/** Which project these scenarios load. */
export const project = 'rate-limiter'

/** One route per algorithm: `GET /api/algorithms/<algorithm>`, each with its own policy. */
export const algorithms = ['fixed-window', 'sliding-log', 'sliding-window', 'token-bucket', 'gcra']

/**
 * The per-algorithm policy each scenario needs, as the service's `POLICIES` document
 * (`routes.algorithms`): the server must run with it (`serverEnv`), and k6's setup() checks the
 * `RateLimit-Policy` it answers before measuring anything.
 * @param {{ limit: number, windowMs: number }} policy
 */
function serverEnv(policy) {
  return { POLICIES: JSON.stringify({ routes: { algorithms: policy } }) }
}

// Every request passes: a quota no run can reach, so the cost of deciding is all that shows.
const generous = { limit: 1_000_000_000, windowMs: 60_000 }
// One unit an hour: after setup() spent it, every request is refused (the block cache's case).
const exhausted = { limit: 1, windowMs: 3_600_000 }
// 100 a second: the burst below offers 3x that, so each algorithm's shape shows.
const perSecond = { limit: 100, windowMs: 1000 }

/** @type {Record<string, Threshold[]>} */
const thresholds = {
  // Stop early rather than measure an error page: a failing run is not a result. Statuses the
  // scenario expects (429 included) are not failures (the script sets the response callback).
  http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '5s' }],
  http_req_duration: ['p(95)<50', 'p(99)<100'],
  checks: ['rate>0.99'],
}

/** @type {Record<string, RateLimiterScenario>} */
export const scenarios = {
  'all-pass': {
    description:
      'GET /api/algorithms/:algorithm for each of the five algorithms at once, a quota no request reaches: the cost of deciding and sending the headers.',
    serverEnv: serverEnv(generous),
    algorithmPolicy: generous,
    request: {
      kind: 'algorithm',
      method: 'GET',
      path: '/api/algorithms/:algorithm',
      headers: {},
      expectStatus: 200,
    },
    k6: {
      executor: 'constant-arrival-rate',
      rate: 200,
      timeUnit: '1s',
      duration: '30s',
      preAllocatedVUs: 10,
      maxVUs: 100,
    },
    node: { connections: 50, durationSeconds: 10, pipelining: 1 },
    thresholds,
  },
  'all-rejected': {
    description:
      'The same routes with a quota of 1 an hour, spent in setup(): every request is answered 429 + Retry-After + problem+json (the block cache answers without Redis).',
    serverEnv: serverEnv(exhausted),
    algorithmPolicy: exhausted,
    request: {
      kind: 'algorithm',
      method: 'GET',
      path: '/api/algorithms/:algorithm',
      headers: {},
      expectStatus: 429,
    },
    k6: {
      executor: 'constant-arrival-rate',
      rate: 200,
      timeUnit: '1s',
      duration: '30s',
      preAllocatedVUs: 10,
      maxVUs: 100,
    },
    node: { connections: 50, durationSeconds: 10, pipelining: 1 },
    thresholds,
  },
  bursty: {
    description:
      'A bursty arrival pattern (20/s, a 3 s burst at 300/s, back to 20/s, twice) against a 100/s quota on every algorithm at once: admitted requests over time show each algorithm at work.',
    serverEnv: serverEnv(perSecond),
    algorithmPolicy: perSecond,
    request: {
      kind: 'algorithm',
      method: 'GET',
      path: '/api/algorithms/:algorithm',
      headers: {},
      expectStatus: [200, 429],
    },
    k6: {
      executor: 'ramping-arrival-rate',
      startRate: 20,
      timeUnit: '1s',
      stages: [
        { target: 20, duration: '5s' },
        { target: 300, duration: '1s' },
        { target: 300, duration: '3s' },
        { target: 20, duration: '1s' },
        { target: 20, duration: '5s' },
        { target: 300, duration: '1s' },
        { target: 300, duration: '3s' },
        { target: 20, duration: '1s' },
        { target: 20, duration: '5s' },
      ],
      preAllocatedVUs: 10,
      maxVUs: 100,
    },
    node: { connections: 50, durationSeconds: 10, pipelining: 1 },
    thresholds,
  },
}
