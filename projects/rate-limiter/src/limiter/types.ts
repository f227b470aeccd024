export { InvalidPolicyError, InvalidRequestError, StoreUnavailableError } from './errors.ts'

/** The five algorithms; see README.md for a diagram of each and which to pick when. */
export type Algorithm = 'fixed-window' | 'sliding-log' | 'sliding-window' | 'token-bucket' | 'gcra'

/**
 * What a limiter enforces.
 * @example
 * const api: Policy = { name: 'api', algorithm: 'sliding-window', limit: 100, windowMs: 60_000 }
 */
export type Policy = {
  /** Shown in RateLimit headers, e.g. "api". */
  name: string
  algorithm: Algorithm
  /** Cost units per window (token bucket / GCRA: refill of `limit` per windowMs). Positive integer. */
  limit: number
  /** Window length in ms. Positive integer. */
  windowMs: number
  /** Token bucket / GCRA capacity (default = limit). Ignored by the window algorithms. */
  burst?: number
}

/** The answer to one `consume`. */
export type Decision = {
  allowed: boolean
  policy: Policy
  /** Quota left after this request, >= 0. */
  remaining: number
  /** Ms until the quota is fully available again (header t = ceil(resetMs/1000)). */
  resetMs: number
  /** 0 when allowed; else ms until a request of this cost can pass. */
  retryAfterMs: number
}

/** One policy enforced on one store. Implementations: memory and Redis (see index.ts). */
export interface Limiter {
  readonly policy: Policy
  /** Decides and, if allowed, consumes `cost` (default 1) atomically. Throws StoreUnavailableError
   * (from './errors') when the store cannot answer; never returns a guess. A denied request
   * consumes nothing. Cost 0 reports the current state without consuming. */
  consume(key: string, cost?: number): Promise<Decision>
  /** Gives back `cost` units (e.g. the request failed upstream). Never below empty. */
  refund(key: string, cost?: number): Promise<void>
  reset(key: string): Promise<void>
}

/**
 * The answer to `count` consumes of one key and cost decided together: the first `admitted`
 * pass, the rest are denied, exactly as the same consumes one after another at that instant.
 * `decision` is the last admitted one's when all pass, else the first denied one's, which every
 * later one shares (a denial changes nothing). Admitted consume i (0-based) has
 * `decision.remaining + (admitted - 1 - i) * cost` left and `decision.resetMs` to wait.
 */
export type BatchDecision = { admitted: number; decision: Decision }

/** A limiter that can decide many consumes of one key in one store call (createCoalescingLimiter). */
export interface BatchLimiter extends Limiter {
  /** `count` (1..MAX_BATCH) consumes of `cost` (>= 1) each, in one atomic step. */
  consumeBatch(key: string, cost: number, count: number): Promise<BatchDecision>
}

/** The in-memory limiter adds introspection and its sweep (bounded memory, see README). */
export interface MemoryLimiter extends BatchLimiter {
  /** `consume` without the promise: an in-process decision needs no I/O, so a caller on a hot
   * path (the middleware) can skip a turn of the microtask queue. Throws what `consume` rejects. */
  consumeNow(key: string, cost?: number): Decision
  /** Keys currently held (expired ones count until the next access or sweep). */
  readonly size: number
  /** Evicts up to `maxEntries` expired keys, resuming where the previous sweep stopped.
   * Returns the number evicted. The periodic timer calls it; tests call it after moving the clock. */
  sweep(maxEntries?: number): number
  /** Stops the sweep timer and drops every key. */
  close(): void
}

/** Result of a multi-limiter consume: allowed only if every limiter allowed. */
export type MultiDecision = {
  allowed: boolean
  /** One per limiter, in the order given. */
  decisions: Decision[]
  /** The denied decision with the largest retryAfterMs, or (all allowed) the least remaining. */
  mostRestrictive: Decision
}

/** Several policies checked together (e.g. 10/s and 1000/h). */
export interface MultiLimiter {
  readonly limiters: readonly Limiter[]
  /** `key`: one key for all limiters, or one key per limiter (same order). A denied request
   * consumes nothing: units taken from the limiters that allowed are refunded. */
  consume(key: string | readonly string[], cost?: number): Promise<MultiDecision>
  refund(key: string | readonly string[], cost?: number): Promise<void>
  reset(key: string | readonly string[]): Promise<void>
}

/** Where a resilient limiter's decision came from. */
export type DecisionSource = 'store' | 'insurance' | 'fail-open' | 'block-cache'

export type ResilientDecision = Decision & { source: DecisionSource }

/** What a resilient limiter does when the store fails or times out. */
export type StoreFailurePolicy = 'fail-open' | 'fail-closed' | 'insurance'

/** Emitted by the resilient limiter for metrics and logs. */
export type LimiterEvent =
  | { type: 'allowed' | 'limited'; key: string; decision: ResilientDecision }
  | { type: 'block-cache-hit'; key: string; decision: ResilientDecision }
  | { type: 'insurance'; key: string; decision: ResilientDecision }
  | { type: 'store-failure'; key: string; policy: Policy; error: unknown }

export type LimiterEventType = LimiterEvent['type']

/** A limiter with a timeout, an outage policy and a block cache in front of a store. */
export interface ResilientLimiter extends Limiter {
  /** Throws StoreUnavailableError only in 'fail-closed' mode (or when the insurance fails too). */
  consume(key: string, cost?: number): Promise<ResilientDecision>
  /** Keys currently in the block cache. */
  readonly blockedKeys: number
}
