/**
 * A token bucket for one connection's messages: `capacity` at once, refilled continuously at
 * `capacity` per `windowMs` (OWASP's starting point for WebSockets is 100 messages a minute).
 * State is two numbers, kept on the connection itself: no store, no timer.
 *
 * @example
 * ```ts
 * const bucket = createTokenBucket({ capacity: 100, windowMs: 60_000 })
 * const { allowed, retryAfterMs } = bucket.take()
 * if (!allowed) ws.send(JSON.stringify({ type: 'error', code: 'rate_limited', retryAfterMs }))
 * ```
 */
export function createTokenBucket({
  capacity,
  windowMs,
  now = Date.now,
}: {
  capacity: number
  windowMs: number
  now?: () => number
}): TokenBucket {
  return new TokenBucket(capacity, capacity / windowMs, now)
}

/** One bucket's state; a class so that a connection's bucket is one small object. */
export class TokenBucket {
  private tokens: number
  private updated: number

  constructor(
    private readonly capacity: number,
    private readonly perMs: number,
    private readonly now: () => number
  ) {
    this.tokens = capacity
    this.updated = now()
  }

  /** Spends one token if there is one; otherwise says how long until there is. */
  take(): { allowed: boolean; retryAfterMs: number } {
    const t = this.now()
    this.tokens = Math.min(this.capacity, this.tokens + (t - this.updated) * this.perMs)
    this.updated = t
    if (this.tokens >= 1) {
      this.tokens -= 1
      return ALLOWED
    }
    return { allowed: false, retryAfterMs: Math.ceil((1 - this.tokens) / this.perMs) }
  }
}

const ALLOWED = Object.freeze({ allowed: true, retryAfterMs: 0 })
