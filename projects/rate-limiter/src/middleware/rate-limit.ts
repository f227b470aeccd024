/**
 * The rate-limit middleware for Hono: decides with one or several limiters, answers 429 with
 * `Retry-After`, the draft-11 RateLimit fields and an RFC 9457 body, and reports every decision as
 * an event (metrics, logs). Every field goes through Hono (`c.header`), so what a test sees under
 * `app.request()` is what a client receives over a socket.
 *
 * - Several limiters per request (a per-second burst and a per-minute quota): all must allow; a
 *   refused request consumes nothing (the units the others took are refunded).
 * - Dynamic limits: `limiters` may be a function of the request (an API-key tier).
 * - Weighted cost: `cost` may be a function of the request (an expensive report costs 5).
 * - Refunds: `refundWhen` gives the units back after the handler ran (say, it answered 5xx: the
 *   client should not pay for our failure).
 * - Shadow mode (Envoy's `shadow_mode`, Stripe's dark launch): decide, count and send the fields,
 *   never block; a store that cannot answer does not block either.
 * - Store outage: a limiter that fails closed rejects with a StoreUnavailableError; the answer is
 *   503 `temporary-reduced-capacity`, naming no policy since none was exceeded.
 *
 * @example
 * app.get('/api/search', rateLimit({ limiters: [perSecond, perMinute], key: (c) => c.get('clientKey') }), handler)
 */
import { randomInt as cryptoRandomInt } from 'node:crypto'
import type { Context, Env, MiddlewareHandler } from 'hono'
import {
  quotaExceeded,
  sendProblem,
  temporaryReducedCapacity,
  type ProblemDetails,
} from './problem-details.ts'
import {
  legacyRateLimitHeaders,
  rateLimitMember,
  retryAfterSeconds,
  serializeRateLimitPolicy,
  toDelaySeconds,
  toWindowSeconds,
} from './ratelimit-headers.ts'
import type { RateLimitDecision, RateLimiter, RateLimitPolicy } from './types.ts'

/** Emitted once per request the middleware decides. */
export type RateLimitEvent =
  | {
      type: 'decision'
      /** One per limiter that answered. */
      decisions: readonly RateLimitDecision[]
      allowed: boolean
      /** True when the request was denied but let through because of shadow mode. */
      shadowed: boolean
      cost: number
      /** Time spent deciding (all limiters), in ms. */
      durationMs: number
    }
  | {
      type: 'store-unavailable'
      policies: readonly RateLimitPolicy[]
      /** True when shadow mode let the request through anyway. */
      shadowed: boolean
      error: unknown
      durationMs: number
    }
  | { type: 'refund-failed'; policies: readonly RateLimitPolicy[]; error: unknown }

export type RateLimitOptions<E extends Env = Env> = {
  /** The limiters for this request, all of which must allow (none: the request passes). A
   * function must return the same array for the same choice: it keys the prepared fields. */
  limiters: readonly RateLimiter[] | ((c: Context<E>) => readonly RateLimiter[])
  /** The client's key (client identity: an address or a verified id, never a raw credential). */
  key: (c: Context<E>) => string | Promise<string>
  /** Units this request costs (default 1), or a function of the request. */
  cost?: number | ((c: Context<E>) => number)
  /** After the handler ran: true gives the units back (e.g. `(c) => c.res.status >= 500`). */
  refundWhen?: (c: Context<E>) => boolean
  /** Decide, count and report, never block (default false). */
  shadow?: boolean
  /** Also send `X-RateLimit-Limit/Remaining/Reset` for the most restrictive policy (default false). */
  legacyHeaders?: boolean
  /** `RateLimit` lists every policy (default) or only the most restrictive one. The draft allows
   * both; every policy is always listed in `RateLimit-Policy`. */
  rateLimitField?: 'all' | 'most-restrictive'
  /**
   * Up to this many whole seconds added at random to a refusal's `t` and `Retry-After` (default
   * 0: none). Clients refused in the same second then come back spread over that many seconds
   * instead of together (draft-11 asks servers to add jitter to `t`). It only ever moves the
   * retry later, so `Retry-After` still never points before the end of the effective window.
   */
  retryJitterSeconds?: number
  /** The jitter's source, an integer in [0, max] (default crypto.randomInt). */
  randomInt?: (max: number) => number
  /** Whether a limiter's rejection means its store is down, answered 503 (default: the error is
   * named 'StoreUnavailableError'). Any other rejection goes to the app's error handler. */
  isStoreUnavailable?: (error: unknown) => boolean
  /** Current time in ms, for the legacy reset timestamp (default Date.now). */
  clock?: () => number
  /** Called synchronously with every event; must not throw. */
  onEvent?: (event: RateLimitEvent) => void
}

/** What a set of limiters answered: every decision, or that a store could not be asked. */
type Outcome =
  | { decided: true; decisions: RateLimitDecision[]; allowed: boolean }
  | { decided: false; error: unknown }

/**
 * The middleware: announces the route's policies, decides, then refuses (429 or 503) or lets the
 * request through with the client's standing.
 */
export function rateLimit<E extends Env = Env>({
  limiters,
  key,
  cost = 1,
  refundWhen,
  shadow = false,
  legacyHeaders = false,
  rateLimitField = 'all',
  retryJitterSeconds = 0,
  randomInt = (max) => cryptoRandomInt(max + 1),
  isStoreUnavailable = (error) => error instanceof Error && error.name === 'StoreUnavailableError',
  clock = Date.now,
  onEvent,
}: RateLimitOptions<E>): MiddlewareHandler<E> {
  if (!Number.isInteger(retryJitterSeconds) || retryJitterSeconds < 0) {
    throw new RangeError(`retryJitterSeconds must be an integer >= 0, got ${retryJitterSeconds}`)
  }
  // The RateLimit-Policy field of a set of limiters never changes: serialized once per set.
  const policyFields = new WeakMap<readonly RateLimiter[], string>()
  const policyFieldOf = (list: readonly RateLimiter[]) => {
    let field = policyFields.get(list)
    if (field === undefined) {
      field = rateLimitPolicyField(list)
      policyFields.set(list, field)
    }
    return field
  }

  return async function rateLimitMiddleware(c, next) {
    const chosen = typeof limiters === 'function' ? limiters(c) : limiters
    if (chosen.length === 0) return next() // no policy applies to this request
    const keyed = key(c)
    const clientKey = typeof keyed === 'string' ? keyed : await keyed
    const units = typeof cost === 'function' ? cost(c) : cost
    // Every answer of the resource lists its policies, whatever is decided below.
    c.header('RateLimit-Policy', policyFieldOf(chosen), { append: true })

    // Timed only for the events that report it.
    const started = onEvent === undefined ? 0 : performance.now()
    const outcome = await decide(chosen, clientKey, units, isStoreUnavailable)
    const durationMs = onEvent === undefined ? 0 : performance.now() - started

    if (!outcome.decided) {
      onEvent?.({
        type: 'store-unavailable',
        policies: chosen.map((limiter) => limiter.policy),
        shadowed: shadow,
        error: outcome.error,
        durationMs,
      })
      if (shadow) return next()
      const problem = temporaryReducedCapacity({
        code: 'store_unavailable',
        detail: 'The rate limit store is unavailable and this service fails closed.',
      })
      return sendProblem(c, problem, { 'Retry-After': '1' })
    }

    const { decisions, allowed } = outcome
    onEvent?.({
      type: 'decision',
      decisions,
      allowed,
      shadowed: !allowed && shadow,
      cost: units,
      durationMs,
    })
    const refused = !allowed && !shadow
    // One draw per refusal: every denied member's `t` and Retry-After move together.
    const jitter = refused && retryJitterSeconds > 0 ? randomInt(retryJitterSeconds) : 0
    const field = rateLimitFieldOf(decisions, rateLimitField, jitter)
    if (field !== '') c.header('RateLimit', field, { append: true })
    if (legacyHeaders) setLegacyHeaders(c, decisions, clock())

    if (refused) {
      const denied = decisions.filter((decision) => !decision.allowed)
      const wait = retryAfterSeconds(Math.max(...denied.map((d) => d.retryAfterMs))) + jitter
      const { problem, body } = refusalOf(denied)
      return sendProblem(c, problem, { 'Retry-After': String(wait) }, body)
    }

    await next()

    // A shadowed denial consumed nothing, so only an allowed request has units to give back.
    if (allowed && units > 0 && refundWhen?.(c)) {
      // Not awaited: the response does not wait for bookkeeping. A failed refund errs strict.
      refund(chosen, clientKey, units).catch((error: unknown) =>
        onEvent?.({ type: 'refund-failed', policies: chosen.map((l) => l.policy), error })
      )
    }
  }
}

/**
 * The `RateLimit-Policy` field `rateLimit` sends for these limiters, for another middleware of the
 * same route that answers before it (see concurrencyLimit's `laterPolicies`).
 * @example
 * rateLimitPolicyField([perSecond, perMinute]) // '"burst";q=5;w=1, "minute";q=100;w=60'
 */
export function rateLimitPolicyField(limiters: readonly RateLimiter[]): string {
  return serializeRateLimitPolicy(
    limiters.map(({ policy }) => ({
      name: policy.name,
      quota: policy.limit,
      windowSeconds: toWindowSeconds(policy.windowMs),
    }))
  )
}

// The 429 body of each set of violated policies, serialized once: it never changes, and policy
// names are configuration, so the map stays small.
const refusals = new Map<string, { problem: ProblemDetails; body: string }>()

function refusalOf(denied: readonly RateLimitDecision[]) {
  const names = denied.map((decision) => decision.policy.name)
  const id = names.join('\n')
  let refusal = refusals.get(id)
  if (refusal === undefined) {
    const problem = quotaExceeded({ violatedPolicies: names })
    refusal = { problem, body: JSON.stringify(problem) }
    refusals.set(id, refusal)
  }
  return refusal
}

/**
 * Asks every limiter; all must allow. A refused request consumes nothing: what the others took is
 * refunded. A denial is known even while another policy's store is down, so it is still a 429.
 */
async function decide(
  limiters: readonly RateLimiter[],
  key: string,
  cost: number,
  isStoreUnavailable: (error: unknown) => boolean
): Promise<Outcome> {
  if (limiters.length === 1) {
    // One policy, the usual case: its answer is the outcome.
    try {
      const decision = await (limiters[0] as RateLimiter).consume(key, cost)
      return { decided: true, decisions: [decision], allowed: decision.allowed }
    } catch (error) {
      if (!isStoreUnavailable(error)) throw error
      return { decided: false, error }
    }
  }
  const results = await Promise.allSettled(limiters.map((limiter) => limiter.consume(key, cost)))
  const decisions: RateLimitDecision[] = []
  const took: RateLimiter[] = []
  let failure: { reason: unknown } | undefined
  for (const [i, result] of results.entries()) {
    if (result.status === 'rejected') {
      failure ??= { reason: result.reason }
    } else {
      decisions.push(result.value)
      if (result.value.allowed) took.push(limiters[i] as RateLimiter)
    }
  }
  const allowed = failure === undefined && decisions.every((decision) => decision.allowed)
  if (!allowed && cost > 0) {
    await Promise.allSettled(took.map((limiter) => limiter.refund(key, cost)))
  }
  if (failure === undefined || decisions.some((decision) => !decision.allowed)) {
    return { decided: true, decisions, allowed }
  }
  if (!isStoreUnavailable(failure.reason)) throw failure.reason
  return { decided: false, error: failure.reason }
}

function refund(limiters: readonly RateLimiter[], key: string, cost: number): Promise<unknown> {
  return Promise.all(limiters.map((limiter) => limiter.refund(key, cost)))
}

/** Admitted by a store that failed open: nothing counted it, so its standing is unknown. */
function unknownStanding(decision: RateLimitDecision): boolean {
  return decision.source === 'fail-open'
}

// One serializer per policy name: the name is escaped and checked once, not per request.
const members = new Map<string, (remaining: number, resetSeconds: number) => string>()

/**
 * A policy's `RateLimit` member. Its `t`: while the policy denies, the wait until a request of
 * this cost can pass (so that `Retry-After`, the largest of these, never points earlier than the
 * effective window, as the draft requires); while it allows, the time until its quota is whole.
 */
function memberOf(decision: RateLimitDecision, jitter: number): string {
  let member = members.get(decision.policy.name)
  if (member === undefined) {
    member = rateLimitMember(decision.policy.name)
    members.set(decision.policy.name, member)
  }
  const t = decision.allowed
    ? toDelaySeconds(decision.resetMs)
    : retryAfterSeconds(decision.retryAfterMs) + jitter
  return member(decision.remaining, t)
}

/** The `RateLimit` field: a member per known policy, or only the most restrictive one's; '' when
 * none is known (the store failed open), and the field is then left out. */
function rateLimitFieldOf(
  decisions: readonly RateLimitDecision[],
  mode: 'all' | 'most-restrictive',
  jitter: number
): string {
  if (decisions.length === 1) {
    const decision = decisions[0] as RateLimitDecision
    return unknownStanding(decision) ? '' : memberOf(decision, jitter)
  }
  const known = decisions.filter((decision) => !unknownStanding(decision))
  if (known.length === 0) return ''
  if (mode === 'most-restrictive') return memberOf(mostRestrictive(known), jitter)
  return known.map((decision) => memberOf(decision, jitter)).join(', ')
}

/** The de-facto X-RateLimit-* trio, for the most restrictive known policy. */
function setLegacyHeaders(c: Context, decisions: readonly RateLimitDecision[], now: number): void {
  const known = decisions.filter((decision) => !unknownStanding(decision))
  if (known.length === 0) return
  const most = mostRestrictive(known)
  const headers = legacyRateLimitHeaders({
    limit: most.policy.limit,
    remaining: most.remaining,
    resetMs: most.allowed ? most.resetMs : most.retryAfterMs,
    nowMs: now,
  })
  for (const [name, value] of Object.entries(headers)) c.header(name, value)
}

/**
 * The decision a client should be shown: among denials the one that keeps it waiting longest;
 * when all allowed, the one with the least quota left (ties: the later reset).
 */
function mostRestrictive(decisions: readonly RateLimitDecision[]): RateLimitDecision {
  return decisions.reduce((most, d) => {
    if (d.allowed !== most.allowed) return d.allowed ? most : d
    if (!d.allowed) return d.retryAfterMs > most.retryAfterMs ? d : most
    if (d.remaining !== most.remaining) return d.remaining < most.remaining ? d : most
    return d.resetMs > most.resetMs ? d : most
  })
}
