/**
 * Hono middleware around a ConcurrencyLimiter (Stripe's concurrent-requests limiter): admits at
 * most `limit` requests of one key in flight and releases the slot when the handler is done.
 *
 * Reported with the draft's registered quota unit: `RateLimit-Policy: "uploads";q=2;qu="concurrent-requests"`
 * and `RateLimit: "uploads";r=1` (slots left). A refusal is 429 `quota-exceeded` with
 * `Retry-After: 1`: a slot frees when some request ends, which cannot be predicted.
 *
 * The slot is released when the handler has returned its Response: a handler that streams its
 * body holds no slot while streaming. Uploads read their body inside the handler, so they hold it.
 *
 * @example
 * app.post('/api/uploads', concurrencyLimit({ name: 'uploads', limiter, key: (c) => c.get('clientKey') }), handler)
 */
import type { Context, Env, MiddlewareHandler } from 'hono'
import type { ConcurrencyLease, ConcurrencyLimiter } from '../concurrency/concurrency-limiter.ts'
import { serializeRateLimit, serializeRateLimitPolicy } from '../headers/ratelimit-headers.ts'
import { quotaExceeded, temporaryReducedCapacity } from '../problem-details.ts'
import { sendProblem, setRateLimitHeaders } from './send-problem.ts'

export type ConcurrencyEvent =
  | { type: 'acquired' | 'rejected'; name: string; inFlight: number; source: 'store' | 'fallback' }
  | { type: 'store-failure'; name: string; error: unknown }
  | { type: 'release-failed'; name: string; error: unknown }

export type ConcurrencyLimitOptions<E extends Env = Env> = {
  /** Policy name shown in the headers and the problem body. */
  name: string
  limiter: ConcurrencyLimiter
  key: (c: Context<E>) => string | Promise<string>
  /** When the limiter's store fails: admit ('fail-open'), answer 503 ('fail-closed'), or ask
   * `fallback` (an in-memory limiter: per-process slots) ('insurance'). Default 'fail-open'. */
  onStoreFailure?: 'fail-open' | 'fail-closed' | 'insurance'
  fallback?: ConcurrencyLimiter
  shadow?: boolean
  onEvent?: (event: ConcurrencyEvent) => void
  /** The `RateLimit-Policy` members of the limits that run after this one on the same route
   * (`rateLimitPolicyField(limiters)`), listed on this middleware's own refusals too: every
   * answer of a resource then lists the same policies, as the draft asks. */
  laterPolicies?: (c: Context<E>) => string
}

export function concurrencyLimit<E extends Env = Env>({
  name,
  limiter,
  key,
  onStoreFailure = 'fail-open',
  fallback,
  shadow = false,
  onEvent,
  laterPolicies,
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
    setRateLimitHeaders(c, { 'RateLimit-Policy': policyField })
    const later = (): Record<string, string> => {
      const field = laterPolicies?.(c) ?? ''
      return field === '' ? {} : { 'RateLimit-Policy': field }
    }
    let lease: ConcurrencyLease | undefined
    let source: 'store' | 'fallback' = 'store'
    try {
      lease = await limiter.acquire(clientKey)
    } catch (error) {
      onEvent?.({ type: 'store-failure', name, error })
      if (onStoreFailure === 'fail-closed' && !shadow) {
        return sendProblem(
          c,
          temporaryReducedCapacity({
            detail: 'The concurrency store is unavailable and this service fails closed.',
          }),
          { 'Retry-After': '1', ...later() }
        )
      }
      if (onStoreFailure === 'insurance' && fallback !== undefined) {
        lease = await fallback.acquire(clientKey)
        source = 'fallback'
      }
    }
    if (lease === undefined) return next() // failed open

    onEvent?.({
      type: lease.acquired ? 'acquired' : 'rejected',
      name,
      inFlight: lease.inFlight,
      source,
    })
    const headers = {
      RateLimit: serializeRateLimit([
        { name, remaining: Math.max(0, lease.limit - lease.inFlight) },
      ]),
    }
    if (!lease.acquired) {
      if (shadow) {
        setRateLimitHeaders(c, headers)
        return next()
      }
      return sendProblem(c, quotaExceeded({ violatedPolicies: [name] }), {
        ...later(),
        ...headers,
        'Retry-After': '1',
      })
    }

    setRateLimitHeaders(c, headers)
    try {
      await next()
    } finally {
      const release = lease.release
      release().catch((error: unknown) => onEvent?.({ type: 'release-failed', name, error }))
    }
  }
}
