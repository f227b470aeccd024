// Load scenarios of the URL shortener: pure data (no imports), read by the k6 script
// (loadtests/url-shortener.js) and by the project's Node driver (benchmarks/run.ts).

/** Which project these scenarios load. */
export const project = 'url-shortener'

/**
 * The links every redirect scenario creates first, and how clicks spread over them: Zipf with
 * s = 1.1, so a few links take most clicks, as on real shorteners (and a cache can help).
 */
export const links = { count: 1000, zipfExponent: 1.1, urlPrefix: 'https://example.com/load/' }

/**
 * A current desktop Chrome. Shorteners skip bots when counting clicks (Kutt does), so a bot
 * User-Agent would measure the cheap path; this one is not a bot to isbot.
 */
export const browserUserAgent =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

/** @type {import('./types').RedirectRequest} */
const redirectRequest = {
  kind: 'redirect',
  method: 'GET',
  path: '/:code',
  headers: { 'User-Agent': browserUserAgent },
  popularity: { distribution: 'zipf', links: links.count, s: links.zipfExponent },
  expectStatus: 302,
}

/** @type {Record<string, import('./types').Threshold[]>} */
const redirectThresholds = {
  // Stop early rather than measure an error page: a failing run is not a result.
  http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '5s' }],
  http_req_duration: ['p(95)<50', 'p(99)<100'],
  checks: ['rate>0.99'],
}

/** @type {Record<string, import('./types').LoadScenario>} */
export const scenarios = {
  redirect: {
    description:
      'GET /:code, Zipf (s = 1.1) over 1,000 links, browser User-Agent, click tracking off: the lookup path alone.',
    clickTracking: false,
    request: redirectRequest,
    k6: {
      executor: 'constant-arrival-rate',
      rate: 1000,
      timeUnit: '1s',
      duration: '30s',
      preAllocatedVUs: 20,
      maxVUs: 200,
    },
    node: { connections: 50, durationSeconds: 10, pipelining: 1 },
    thresholds: redirectThresholds,
  },
  'redirect-tracked': {
    description:
      'The same requests as redirect, with click tracking (analytics) ON in the server: what counting a click costs.',
    clickTracking: true,
    request: redirectRequest,
    k6: {
      executor: 'constant-arrival-rate',
      rate: 1000,
      timeUnit: '1s',
      duration: '30s',
      preAllocatedVUs: 20,
      maxVUs: 200,
    },
    node: { connections: 50, durationSeconds: 10, pipelining: 1 },
    thresholds: redirectThresholds,
  },
  create: {
    description: 'POST /api/links with a unique https URL per request: the write path.',
    clickTracking: false,
    request: {
      kind: 'create',
      method: 'POST',
      path: '/api/links',
      headers: { 'Content-Type': 'application/json', 'User-Agent': browserUserAgent },
      body: { url: 'https://example.com/created/{unique}' },
      expectStatus: 201,
    },
    k6: {
      executor: 'constant-arrival-rate',
      rate: 200,
      timeUnit: '1s',
      duration: '30s',
      preAllocatedVUs: 10,
      maxVUs: 100,
    },
    node: { connections: 20, durationSeconds: 10, pipelining: 1 },
    thresholds: {
      http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '5s' }],
      http_req_duration: ['p(95)<100', 'p(99)<250'],
      checks: ['rate>0.99'],
    },
  },
}
