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
