// Load scenarios of the task queue: pure data (no imports), read by the k6 script
// (loadtests/task-queue.js) and by the project's Node driver (benchmarks/run.ts).

/**
 * @typedef {import('./types').K6Params} K6Params
 * @typedef {import('./types').NodeParams} NodeParams
 * @typedef {import('./types').Threshold} Threshold
 * @typedef {{
 *   description: string,
 *   request: {
 *     kind: 'enqueue',
 *     method: 'POST',
 *     path: '/api/jobs' | '/api/jobs/bulk',
 *     headers: Record<string, string>,
 *     body: unknown,
 *     jobsPerRequest: number,
 *     expectStatus: number,
 *   },
 *   k6: K6Params,
 *   node: NodeParams,
 *   thresholds: Record<string, Threshold[]>,
 * }} EnqueueScenario
 */

/** Which project these scenarios load. */
export const project = 'task-queue'

/** The job every throughput scenario enqueues: `noop`, so only the queue's own cost shows. */
export const noopJob = { name: 'noop', data: {} }

/** Jobs in one bulk request (POST /api/jobs/bulk) and in one bare addBulk of the baseline. */
export const bulkSize = 100

/** @type {Record<string, Threshold[]>} */
const thresholds = {
  // A failing run is not a result: stop early.
  http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '5s' }],
  http_req_duration: ['p(95)<100', 'p(99)<250'],
  checks: ['rate>0.99'],
}

/** @type {Record<string, EnqueueScenario>} */
export const scenarios = {
  'enqueue-single': {
    description:
      'POST /api/jobs, one noop job per request (no worker runs: only the enqueue is measured). The Node driver sends it from 50 connections and compares with bare queue.add from 50 concurrent callers.',
    request: {
      kind: 'enqueue',
      method: 'POST',
      path: '/api/jobs',
      headers: { 'content-type': 'application/json' },
      body: noopJob,
      jobsPerRequest: 1,
      expectStatus: 201,
    },
    k6: {
      executor: 'constant-arrival-rate',
      rate: 1000,
      timeUnit: '1s',
      duration: '30s',
      preAllocatedVUs: 20,
      maxVUs: 200,
    },
    node: { connections: 50, durationSeconds: 10, pipelining: 1 },
    thresholds,
  },
  'enqueue-bulk': {
    description: `POST /api/jobs/bulk with ${bulkSize} noop jobs per request. The Node driver sends it from 50 connections and compares with bare addBulk of ${bulkSize} from 50 concurrent callers.`,
    request: {
      kind: 'enqueue',
      method: 'POST',
      path: '/api/jobs/bulk',
      headers: { 'content-type': 'application/json' },
      body: { jobs: Array.from({ length: bulkSize }, () => noopJob) },
      jobsPerRequest: bulkSize,
      expectStatus: 201,
    },
    k6: {
      executor: 'constant-arrival-rate',
      rate: 50,
      timeUnit: '1s',
      duration: '30s',
      preAllocatedVUs: 10,
      maxVUs: 100,
    },
    node: { connections: 50, durationSeconds: 10, pipelining: 1 },
    thresholds: { ...thresholds, http_req_duration: ['p(95)<250', 'p(99)<500'] },
  },
}

/**
 * The scenarios measured without HTTP (a worker draining a queue, a steady producer, tenants):
 * the Node driver runs them as child processes and reads the jobs' timestamps from Redis.
 */
export const queueScenarios = {
  /**
   * A prefilled queue drained by one worker process at each concurrency. 20,000 jobs at every
   * concurrency, so a run measures the steady state: at 5,000 the c=1 run lasted about a second
   * and a worker's JIT warm-up was a large part of it (the service's worker drained 5,000 at
   * ~4.1k jobs/s and 20,000 at ~5.3k, the bare Worker ~4.8k at both, 5 rounds each).
   */
  workerThroughput: { concurrencies: [1, 10, 50], jobs: { 1: 20000, 10: 20000, 50: 20000 } },
  /** A producer at a steady rate, one worker process (concurrency 50) in another process. */
  endToEnd: { ratePerSecond: 1000, durationSeconds: 10, workerConcurrency: 50 },
  /**
   * One noisy tenant enqueues a burst while quiet tenants send a steady trickle; each job works
   * `jobDurationMs`. p99 wait per tenant with fair scheduling against plain FIFO.
   */
  fairness: {
    noisyJobs: 3000,
    quietTenants: 4,
    quietRatePerSecond: 10,
    durationSeconds: 10,
    jobDurationMs: 2,
    workerConcurrency: 10,
  },
}
