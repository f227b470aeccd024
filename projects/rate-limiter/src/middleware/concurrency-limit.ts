/**
 * Hono middleware around a concurrency limiter (Stripe's concurrent-requests limiter): admits at
 * most `limit` requests of one key in flight and releases the slot when the handler is done.
 *
 * Reported with the draft's registered quota unit: `RateLimit-Policy: "uploads";q=2;qu="concurrent-requests"`
 * and `RateLimit: "uploads";r=1` (slots left). A refusal is 429 `quota-exceeded` with
 * `Retry-After: 1`: a slot frees when some request ends, which cannot be predicted.
 *
 * Put it before the route's rate limit: a request it refuses then spends no rate-limit unit.
 * The slot is released when the handler has returned its Response: a handler that streams its
 * body holds no slot while streaming. Uploads read their body inside the handler, so they hold it.
 *
 * @example
 * app.post('/api/uploads', concurrencyLimit({ name: 'uploads', limiter, key: (c) => c.get('clientKey') }), handler)
 */
import type { Context, Env, MiddlewareHandler } from 'hono'
import { quotaExceeded, sendProblem, temporaryReducedCapacity } from './problem-details.ts'
import { serializeRateLimit, serializeRateLimitPolicy } from './ratelimit-headers.ts'
import type { ConcurrencyLease, ConcurrencyLimiter } from './types.ts'

export type ConcurrencyEvent =
  | { type: 'acquired' | 'rejected'; name: string; inFlight: number; source: 'store' | 'fallback' }
  | { type: 'store-failure'; name: string; error: unknown }
  | { type: 'release-failed'; name: string; error: unknown }

export type ConcurrencyLimitOptions<E extends Env = Env> = {
  /** Policy name shown in the fields and the problem body. */
  name: string
  limiter: ConcurrencyLimiter
  key: (c: Context<E>) => string | Promise<string>
  /** When the limiter's store fails: admit ('fail-open'), answer 503 ('fail-closed'), or ask
   * `fallback` (an in-memory limiter: per-process slots) ('insurance'). Default 'fail-open'. */
  onStoreFailure?: 'fail-open' | 'fail-closed' | 'insurance'
  fallback?: ConcurrencyLimiter
  /** Count and report, never refuse (default false). */
  shadow?: boolean
  /** The `RateLimit-Policy` members of the limits that run after this one on the same route
   * (`rateLimitPolicyField(limiters)`), listed on this middleware's own refusals too: every
   * answer of a resource then lists the same policies, as the draft asks. */
  laterPolicies?: (c: Context<E>) => string
  onEvent?: (event: ConcurrencyEvent) => void
}

export function concurrencyLimit<E extends Env = Env>({
  name,
  limiter,
  key,
  onStoreFailure = 'fail-open',
  fallback,
  shadow = false,
  laterPolicies,
  onEvent,
}: ConcurrencyLimitOptions<E>): MiddlewareHandler<E> {
  if (onStoreFailure === 'insurance' && fallback === undefined) {
    throw new TypeError("onStoreFailure 'insurance' needs a fallback limiter")
  }
  const policyField = serializeRateLimitPolicy([
    { name, quota: limiter.limit, quotaUnit: 'concurrent-requests' },
  ])

  return async function concurrencyLimitMiddleware(c, next) {
    const clientKey = await key(c)
    // Listed on every answer of the route, whichever limit decides it.
    c.header('RateLimit-Policy', policyField, { append: true })
    /** Before answering here: the policies the later middlewares would have listed. */
    const listLater = () => {
      const later = laterPolicies?.(c) ?? ''
      if (later !== '') c.header('RateLimit-Policy', later, { append: true })
    }

    let lease: ConcurrencyLease | undefined
    let source: 'store' | 'fallback' = 'store'
    try {
      lease = await limiter.acquire(clientKey)
    } catch (error) {
      onEvent?.({ type: 'store-failure', name, error })
      if (onStoreFailure === 'fail-closed' && !shadow) {
        listLater()
        const problem = temporaryReducedCapacity({
          code: 'store_unavailable',
          detail: 'The concurrency store is unavailable and this service fails closed.',
        })
        return sendProblem(c, problem, { 'Retry-After': '1' })
      }
      if (onStoreFailure === 'insurance' && fallback !== undefined) {
        lease = await fallback.acquire(clientKey)
        source = 'fallback'
      }
    }
    if (lease === undefined) return next() // failed open: no slot is known, no member sent

    onEvent?.({
      type: lease.acquired ? 'acquired' : 'rejected',
      name,
      inFlight: lease.inFlight,
      source,
    })
    const remaining = Math.max(0, lease.limit - lease.inFlight)
    c.header('RateLimit', serializeRateLimit([{ name, remaining }]), { append: true })
    if (!lease.acquired) {
      if (shadow) return next()
      listLater()
      const problem = quotaExceeded({
        violatedPolicies: [name],
        code: 'concurrency_limit_exceeded',
        detail: `Too many requests in flight: at most ${lease.limit} at once`,
      })
      return sendProblem(c, problem, { 'Retry-After': '1' })
    }

    try {
      await next()
    } finally {
      // Not awaited: the response does not wait for the slot's bookkeeping.
      lease.release().catch((error: unknown) => onEvent?.({ type: 'release-failed', name, error }))
    }
  }
}
