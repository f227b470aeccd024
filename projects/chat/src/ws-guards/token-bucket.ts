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
}): { take(): { allowed: boolean; retryAfterMs: number } } {
  const perMs = capacity / windowMs
  let tokens = capacity
  let updated = now()
  return {
    take() {
      const t = now()
      tokens = Math.min(capacity, tokens + (t - updated) * perMs)
      updated = t
      if (tokens >= 1) {
        tokens -= 1
        return { allowed: true, retryAfterMs: 0 }
      }
      return { allowed: false, retryAfterMs: Math.ceil((1 - tokens) / perMs) }
    },
  }
}
