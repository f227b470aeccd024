/**
 * The shape of a `scenarios/<project>.js` file: pure data read by the k6 script (open model)
 * AND by the project's Node driver (`benchmarks/run.ts`, closed model through @kit/bench).
 */

/** Options of one k6 open-model scenario (https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/). */
export type K6Params =
  | {
      executor: 'constant-arrival-rate'
      /** Iterations (here: requests) started per `timeUnit`, whatever the latency. */
      rate: number
      timeUnit: string
      duration: string
      preAllocatedVUs: number
      maxVUs: number
    }
  | {
      executor: 'ramping-arrival-rate'
      startRate: number
      timeUnit: string
      stages: { target: number; duration: string }[]
      preAllocatedVUs: number
      maxVUs: number
    }

/** Options of the Node driver (autocannon, closed model: each connection waits for its answer). */
export type NodeParams = { connections: number; durationSeconds: number; pipelining: number }

/** A k6 threshold (https://grafana.com/docs/k6/latest/using-k6/thresholds/). */
export type Threshold =
  string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string }

export type RedirectRequest = {
  kind: 'redirect'
  method: 'GET'
  /** `:code` is replaced by a code drawn from `popularity`. */
  path: '/:code'
  headers: Record<string, string>
  popularity: { distribution: 'zipf'; links: number; s: number }
  expectStatus: 302
}

export type CreateRequest = {
  kind: 'create'
  method: 'POST'
  path: string
  headers: Record<string, string>
  /** JSON body; `{unique}` in a string is replaced by an id unique to the request. */
  body: Record<string, string>
  expectStatus: 201
}

export type LoadScenario = {
  description: string
  /** The server must run with click tracking (analytics) on for this scenario. */
  clickTracking: boolean
  request: RedirectRequest | CreateRequest
  k6: K6Params
  node: NodeParams
  thresholds: Record<string, Threshold[]>
}

/**
 * The WebSocket projects' scenarios (`scenarios/chat.js`, `transport = 'websocket'`): the k6
 * script (k6/websockets) and the kit's Node WebSocket driver (@kit/bench runWsBenchmark) read
 * the same numbers.
 */
export type WsScenarioData = {
  description: string
  /** 'fanout': clients in one room, some of them senders; 'connections': connect and hold. */
  kind: 'fanout' | 'connections'
  /** Connections (each one client). */
  clients: number
  /** Distinct users the clients sign in as (tokens are issued per user). */
  users: number
  /** Clients that also send (the first ones). */
  senders: number
  /**
   * 'closed': each sender keeps `window` messages in flight, sending the next when its own comes
   * back (saturation without an unbounded queue); 'open': the senders together offer
   * `messagesPerSecond` whatever the latency.
   */
  load: { mode: 'closed'; window: number } | { mode: 'open'; messagesPerSecond: number } | null
  /** Server instances, sharing a Redis when more than one. */
  instances: 1 | 2
  /** Measured seconds (fan-out) or seconds the connections are held. */
  durationSeconds: number
  warmupSeconds: number
  k6: { duration: string; gracefulStop: string }
  thresholds: Record<string, Threshold[]>
}
