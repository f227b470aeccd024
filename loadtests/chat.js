// k6 load test of the chat over WebSockets (k6/websockets). One scenario per run; every VU holds
// one connection: it signs in (a token per user, issued in setup()), joins the room, and in a
// fan-out scenario the first `senders` VUs send, closed loop (the next message when their own
// comes back) or open loop (a fixed rate), while every VU records each delivery's latency.
//
//   pnpm chat                      (embedded mode on :3003; or REDIS_URL=... for several)
//   k6 run -e BASE_URL=http://127.0.0.1:3003 -e SCENARIO=latency-50k loadtests/chat.js
//
// Env: BASE_URL (default http://127.0.0.1:3003), SCENARIO (fanout-saturation | latency-50k |
// idle-connections | connect-10k | fanout-two-instances, default latency-50k), RESULTS_DIR
// (default loadtests/results, must exist). The service must allow each user enough
// connections (MAX_CONNECTIONS_PER_USER) and frames (RATE_LIMIT_MESSAGES) for the scenario.
// Scenario data: scenarios/chat.js (the Node driver of projects/chat/benchmarks reads it too).
import { check, fail } from 'k6'
import exec from 'k6/execution'
import http from 'k6/http'
import { Counter, Trend } from 'k6/metrics'
import { clearInterval, setInterval, setTimeout } from 'k6/timers'
import { WebSocket } from 'k6/websockets'
import { project, scenarios } from './scenarios/chat.js'

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3003').replace(/\/$/, '')
const WS_URL = BASE_URL.replace(/^http/, 'ws')
const SCENARIO = __ENV.SCENARIO || 'latency-50k'
const RESULTS_DIR = __ENV.RESULTS_DIR || 'loadtests/results'
const scenario =
  scenarios[SCENARIO] ??
  fail(`unknown SCENARIO ${SCENARIO}: use one of ${Object.keys(scenarios).join(', ')}`)

const deliveryMs = new Trend('chat_delivery_ms', true)
const deliveries = new Counter('chat_deliveries')
const sent = new Counter('chat_sent')
const connectFailed = new Counter('chat_connect_failed')

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    [SCENARIO]: {
      executor: 'per-vu-iterations',
      vus: scenario.clients,
      iterations: 1,
      maxDuration: scenario.k6.duration,
      gracefulStop: scenario.k6.gracefulStop,
    },
  },
  thresholds: scenario.thresholds,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(97.5)', 'p(99)'],
}

/**
 * @param {string} path
 * @param {unknown} body
 * @param {string} [token]
 */
function post(path, body, token) {
  return http.post(`${BASE_URL}${path}`, JSON.stringify(body), {
    headers: {
      'content-type': 'application/json',
      ...(token && { authorization: `Bearer ${token}` }),
    },
  })
}

/** Checks the service, issues a token per user and creates the room. */
export function setup() {
  const health = http.get(`${BASE_URL}/healthz`)
  if (health.status !== 200)
    fail(`GET ${BASE_URL}/healthz answered ${health.status}: is the service up?`)
  const tokens = []
  for (let i = 0; i < scenario.users; i++) {
    const res = post('/api/tokens', { user: `k6-user-${i}` })
    if (res.status !== 201) fail(`POST /api/tokens answered ${res.status}`)
    tokens.push(String(res.json('token')))
  }
  const room = post('/api/rooms', { name: `k6 ${SCENARIO}` }, tokens[0])
  if (room.status !== 201) fail(`POST /api/rooms answered ${room.status}`)
  return { room: String(room.json('id')), tokens }
}

/** One client: connect, join, (send,) receive until the scenario's time is up. */
export default function client(/** @type {{ room: string, tokens: string[] }} */ data) {
  const vu = exec.vu.idInTest - 1
  const sender = scenario.kind === 'fanout' && vu < scenario.senders
  const load = scenario.load
  const ws = new WebSocket(`${WS_URL}/ws`, null, {
    headers: { Authorization: `Bearer ${data.tokens[vu % data.tokens.length]}` },
  })
  let seq = 0
  /** @type {import('k6/timers').IntervalID | undefined} */
  let ticker
  const send = () => {
    seq += 1
    ws.send(
      JSON.stringify({
        type: 'send',
        room: data.room,
        clientId: `k6-${vu}-${seq}`,
        body: `${vu}:${Date.now()}`,
      })
    )
    sent.add(1)
  }
  let joined = false

  ws.addEventListener('message', (event) => {
    const frame = JSON.parse(String(/** @type {{ data: unknown }} */ (event).data))
    switch (frame.type) {
      case 'hello':
        ws.send(JSON.stringify({ type: 'join', room: data.room }))
        return
      case 'joined':
        if (joined) return
        joined = true
        check(frame, { 'joined the room': (f) => f.room === data.room })
        if (sender && load?.mode === 'closed') for (let i = 0; i < load.window; i++) send()
        if (sender && load?.mode === 'open')
          ticker = setInterval(send, (1000 * scenario.senders) / load.messagesPerSecond)
        setTimeout(
          () => {
            if (ticker !== undefined) clearInterval(ticker)
            ws.close()
          },
          (scenario.warmupSeconds + scenario.durationSeconds) * 1000
        )
        return
      case 'message': {
        const [from, at] = String(frame.body).split(':').map(Number)
        if (at === undefined || Number.isNaN(at)) return
        deliveryMs.add(Date.now() - at)
        deliveries.add(1)
        if (sender && from === vu && load?.mode === 'closed') send()
        return
      }
      case 'error':
        check(frame, { 'no error frame': () => false })
        return
    }
  })
  ws.addEventListener('error', () => {
    if (!joined) connectFailed.add(1)
  })
}

/**
 * The k6 data with a `kit` block (project, scenario, base URL, date, duration) in
 * RESULTS_DIR/k6-<scenario>.json, and a few lines on stdout. k6 figures compare with k6 figures
 * only (k6 takes about 1.2 cores of a 2-core machine).
 * @param {{ metrics: Record<string, { values: Record<string, number> }> }} data
 */
export function handleSummary(data) {
  const value = (/** @type {string} */ metric, /** @type {string} */ stat) =>
    data.metrics[metric]?.values[stat]
  const seconds = scenario.durationSeconds + scenario.warmupSeconds
  const count = value('chat_deliveries', 'count') ?? 0
  const kit = {
    project,
    scenario: SCENARIO,
    description: scenario.description,
    baseUrl: BASE_URL,
    date: new Date().toISOString(),
    durationSeconds: seconds,
    k6: scenario.k6,
  }
  const lines = [
    '',
    `${project} · ${SCENARIO} against ${BASE_URL} (${scenario.clients} clients)`,
    `  deliveries    ${count} in ~${seconds} s = ${(count / seconds).toFixed(0)} deliveries/s (${value('chat_sent', 'count') ?? 0} messages sent)`,
    `  delivery ms   p50 ${value('chat_delivery_ms', 'med')?.toFixed(1) ?? 'n/a'}  p99 ${value('chat_delivery_ms', 'p(99)')?.toFixed(1) ?? 'n/a'}`,
    `  connecting ms p95 ${value('ws_connecting', 'p(95)')?.toFixed(1) ?? 'n/a'}; failed connects ${value('chat_connect_failed', 'count') ?? 0}`,
    `  summary JSON  ${RESULTS_DIR}/k6-${SCENARIO}.json`,
    '',
  ]
  return {
    [`${RESULTS_DIR.replace(/\/$/, '')}/k6-${SCENARIO}.json`]: `${JSON.stringify({ kit, ...data }, null, 2)}\n`,
    stdout: lines.join('\n'),
  }
}
