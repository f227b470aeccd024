// Load scenarios of the notification service: pure data (no imports), read by the k6 script
// (loadtests/notifications.js) and by the project's Node driver (benchmarks/run.ts).

/**
 * @typedef {import('./types').K6Params} K6Params
 * @typedef {import('./types').NodeParams} NodeParams
 * @typedef {import('./types').Threshold} Threshold
 * @typedef {{
 *   description: string,
 *   subscribers: number,
 *   recipientsPerEvent: number,
 *   channels: string[],
 *   request: {
 *     kind: 'trigger',
 *     method: 'POST',
 *     path: '/v1/events',
 *     headers: Record<string, string>,
 *     expectStatus: 202,
 *   },
 *   fanOut: { events: number, workers: number },
 *   k6: K6Params,
 *   node: NodeParams,
 *   thresholds: Record<string, Threshold[]>,
 * }} NotificationsScenario
 */

/** Which project these scenarios load. */
export const project = 'notifications'

/** Every channel an event goes to in the fan-out scenarios. */
export const channels = ['email', 'sms', 'push', 'webhook', 'in_app']

/** @type {Record<string, Threshold[]>} */
const thresholds = {
  // A failing run is not a result: stop early when triggers fail.
  http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '5s' }],
  // The trigger stores the event and its outbox message, nothing more: it stays fast whatever
  // the providers do.
  http_req_duration: ['p(95)<50', 'p(99)<100'],
  checks: ['rate>0.99'],
}

/** @type {Record<string, NotificationsScenario>} */
export const scenarios = {
  'fan-out': {
    description:
      'POST /v1/events, each event to 4 subscribers on all 5 channels (20 deliveries an event), at a fixed arrival rate: the trigger answers 202 from SQLite while the fan-out drains through the queues.',
    subscribers: 100,
    recipientsPerEvent: 4,
    channels,
    request: {
      kind: 'trigger',
      method: 'POST',
      path: '/v1/events',
      headers: { 'Content-Type': 'application/json' },
      expectStatus: 202,
    },
    // The Node driver's rounds: events per round and worker processes per target.
    fanOut: { events: 300, workers: 2 },
    k6: {
      executor: 'constant-arrival-rate',
      rate: 50,
      timeUnit: '1s',
      duration: '30s',
      preAllocatedVUs: 10,
      maxVUs: 100,
    },
    node: { connections: 16, durationSeconds: 10, pipelining: 1 },
    thresholds,
  },
  'trigger-idempotent': {
    description:
      'POST /v1/events with an Idempotency-Key drawn from 50 keys: most requests replay the stored 202 without a second fan-out.',
    subscribers: 100,
    recipientsPerEvent: 1,
    channels: ['in_app'],
    request: {
      kind: 'trigger',
      method: 'POST',
      path: '/v1/events',
      headers: { 'Content-Type': 'application/json' },
      expectStatus: 202,
    },
    fanOut: { events: 300, workers: 2 },
    k6: {
      executor: 'constant-arrival-rate',
      rate: 200,
      timeUnit: '1s',
      duration: '30s',
      preAllocatedVUs: 10,
      maxVUs: 100,
    },
    node: { connections: 16, durationSeconds: 10, pipelining: 1 },
    thresholds,
  },
}
