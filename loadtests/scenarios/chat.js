// Load scenarios of the chat: pure data (no imports), read by the k6 script (loadtests/chat.js,
// k6/websockets) and by the project's Node driver (projects/chat/benchmarks/run.ts, through
// @kit/bench's WebSocket driver).

/**
 * @typedef {import('./types').WsScenarioData} WsScenarioData
 * @typedef {import('./types').Threshold} Threshold
 */

/** Which project these scenarios load. */
export const project = 'chat'

/** These scenarios hold WebSockets, not HTTP requests. */
export const transport = 'websocket'

/** @type {Record<string, Threshold[]>} */
const fanoutThresholds = {
  // Every client connects and joins: a refused handshake is a broken run, not a result.
  chat_connect_failed: [{ threshold: 'count<1', abortOnFail: true, delayAbortEval: '5s' }],
  chat_delivery_ms: ['p(95)<250', 'p(99)<500'],
  checks: ['rate>0.99'],
}

/** @type {Record<string, WsScenarioData>} */
export const scenarios = {
  'fanout-saturation': {
    description:
      '1,000 clients in one room, 4 of them sending with 8 messages each in flight (the next when their own comes back): deliveries/s at saturation and the server CPU per delivery.',
    kind: 'fanout',
    clients: 1000,
    users: 100,
    senders: 4,
    load: { mode: 'closed', window: 8 },
    instances: 1,
    durationSeconds: 10,
    warmupSeconds: 2,
    k6: { duration: '30s', gracefulStop: '5s' },
    thresholds: fanoutThresholds,
  },
  'latency-50k': {
    description:
      '1,000 clients in one room, 10 senders offering 50 messages/s together (50,000 deliveries/s): p50/p99 delivery latency below saturation.',
    kind: 'fanout',
    clients: 1000,
    users: 100,
    senders: 10,
    load: { mode: 'open', messagesPerSecond: 50 },
    instances: 1,
    durationSeconds: 10,
    warmupSeconds: 2,
    k6: { duration: '30s', gracefulStop: '5s' },
    thresholds: { ...fanoutThresholds, chat_delivery_ms: ['p(95)<100', 'p(99)<200'] },
  },
  'idle-connections': {
    description:
      '2,000 clients connect, join a room and stay idle: handshakes/s and the server RSS each 1,000 idle connections cost.',
    kind: 'connections',
    clients: 2000,
    users: 100,
    senders: 0,
    load: null,
    instances: 1,
    durationSeconds: 5,
    warmupSeconds: 0,
    k6: { duration: '30s', gracefulStop: '5s' },
    thresholds: { chat_connect_failed: ['count<1'], ws_connecting: ['p(95)<1000', 'p(99)<2000'] },
  },
  'connect-10k': {
    description:
      '10,000 clients connect and join, then are held for 10 s (heartbeats running): handshakes/s, handshake latency, none dropped, the server RSS at 10,000.',
    kind: 'connections',
    clients: 10_000,
    users: 200,
    senders: 0,
    load: null,
    instances: 1,
    durationSeconds: 10,
    warmupSeconds: 0,
    k6: { duration: '60s', gracefulStop: '10s' },
    thresholds: { chat_connect_failed: ['count<1'], ws_connecting: ['p(95)<2000', 'p(99)<5000'] },
  },
  'fanout-two-instances': {
    description:
      'The saturation fan-out across two instances sharing a Redis: 500 clients on each, 2 senders on each (8 in flight apiece); CPU of both instances and their Redis per delivery.',
    kind: 'fanout',
    clients: 1000,
    users: 100,
    senders: 4,
    load: { mode: 'closed', window: 8 },
    instances: 2,
    durationSeconds: 10,
    warmupSeconds: 2,
    k6: { duration: '30s', gracefulStop: '5s' },
    thresholds: fanoutThresholds,
  },
}
