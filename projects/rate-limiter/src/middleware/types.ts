/**
 * What the middlewares of this folder need from the limiters behind them, stated here so that the
 * folder copies out alone. The kit's limiters (`src/limiter/`, `src/concurrency/`,
 * `src/load-shedding/`) have these shapes; so can your own.
 */

/** A rate-limit policy as the RateLimit headers describe it. */
export type RateLimitPolicy = {
  /** The member's name in `RateLimit-Policy` and `RateLimit`, e.g. "api". */
  name: string
  /** Quota units per window (`q`). */
  limit: number
  /** Window length in ms (`w`, in whole seconds, when it is whole seconds). */
  windowMs: number
}

/** One policy's answer to one request. */
export type RateLimitDecision = {
  allowed: boolean
  policy: RateLimitPolicy
  /** Quota left after this request (`r`). */
  remaining: number
  /** Ms until the quota is whole again (`t` while allowed). */
  resetMs: number
  /** Ms until a request of this cost can pass; 0 when allowed. */
  retryAfterMs: number
  /** 'fail-open': admitted because the store could not be asked, so nothing counted it; its
   * RateLimit member is left out. Any other value (or none) is a real count. */
  source?: string
}

/** Decides and, if allowed, spends `cost` units of `key`'s quota. */
export interface RateLimiter {
  readonly policy: RateLimitPolicy
  /** Rejects with an error named 'StoreUnavailableError' when its store cannot answer and the
   * limiter fails closed; anything else it rejects with is the app's to answer. */
  consume(key: string, cost?: number): Promise<RateLimitDecision>
  /** Gives `cost` units back (a request that consumed them was refused elsewhere, or failed). */
  refund(key: string, cost?: number): Promise<void>
}

/** A slot held by one request in flight, or the refusal to give one. */
export type ConcurrencyLease =
  | { acquired: true; limit: number; inFlight: number; release(): Promise<void> }
  | { acquired: false; limit: number; inFlight: number }

/** At most `limit` requests of one key in flight (Stripe's concurrent-requests limiter). */
export interface ConcurrencyLimiter {
  readonly limit: number
  /** Rejects when its store cannot answer. */
  acquire(key: string): Promise<ConcurrencyLease>
}

export type Priority = 'critical' | 'normal'

/** At most so many requests in flight in this process, with a share kept for critical ones. */
export interface LoadShedder {
  readonly inFlight: number
  /** A release function when admitted (call it once, when the response is done), else undefined. */
  tryAcquire(priority: Priority): (() => void) | undefined
}
