/**
 * The rate-limit middleware for Hono: decides with one or several limiters, answers 429 with
 * `Retry-After`, the draft-11 RateLimit headers and an RFC 9457 body, and reports every decision
 * as an event (metrics, logs).
 *
 * - Several limiters per request (a per-second burst and a per-minute quota): all must allow; a
 *   denied request consumes nothing (createMultiLimiter refunds the others).
 * - Dynamic limits: `limiters` may be a function of the request (an API-key tier).
 * - Weighted cost: `cost` may be a function of the request (an expensive report costs 5).
 * - Refunds: `refundWhen` gives the units back after the handler ran (say, it answered 5xx: the
 *   client should not pay for our failure).
 * - Shadow mode (Envoy's `shadow_mode`, Stripe's dark launch): decide, count and send the headers,
 *   never block; a store that cannot answer does not block either.
 * - Store outage: the limiters are expected to be resilient (createResilientLimiter); when one
 *   fails closed (StoreUnavailableError) the answer is 503 `temporary-reduced-capacity`.
 *
 * Two forms, one decision:
 * - `rateLimit(options)` is a middleware, for `app.use()` or in front of a route's handler.
 * - `withRateLimit(options, handler)` wraps one handler. Hono then runs the route without its
 *   middleware chain (a route with one handler is dispatched directly, not through `compose`),
 *   so a memory limiter in front of a synchronous handler answers without a single promise. Use
 *   it on a hot route with no other middleware, where that chain is most of what a limiter costs.
 *
 * @example
 * app.get('/api/search', rateLimit({ limiters: [perSecond, perMinute], key: (c) => c.get('clientKey') }), handler)
 * app.get('/api/price', withRateLimit({ limiters: [perSecond], key: clientIp }, (c) => c.json(price())))
 */
import { randomInt as cryptoRandomInt } from 'node:crypto'
import type { Context, Env, Handler, MiddlewareHandler } from 'hono'
import {
  legacyRateLimitHeaders,
  rateLimitMember,
  retryAfterSeconds,
  serializeRateLimitPolicy,
  toDelaySeconds,
  toWindowSeconds,
} from '../headers/ratelimit-headers.ts'
import {
  StoreUnavailableError,
  createMultiLimiter,
  mostRestrictive,
  type Decision,
  type Limiter,
  type MemoryLimiter,
  type MultiLimiter,
  type Policy,
} from '../limiter/index.ts'
import { quotaExceeded, temporaryReducedCapacity, type ProblemDetails } from '../problem-details.ts'
import { sendProblem, setRateLimitFields, setRateLimitHeaders } from './send-problem.ts'

/** Emitted once per request the middleware sees. */
export type RateLimitEvent =
  | {
      type: 'decision'
      /** One per limiter; a resilient limiter's decisions carry their `source`. */
      decisions: readonly Decision[]
      allowed: boolean
      /** True when the request was denied but let through because of shadow mode. */
      shadowed: boolean
      cost: number
      /** Time spent deciding (all limiters), in ms. */
      durationMs: number
    }
  | {
      type: 'store-unavailable'
      policies: readonly Policy[]
      /** True when shadow mode let the request through anyway. */
      shadowed: boolean
      error: StoreUnavailableError
      /** Time spent before the store was given up on (bounded by the limiters' timeout), in ms. */
      durationMs: number
    }
  | { type: 'refund-failed'; policies: readonly Policy[]; error: unknown }

export type RateLimitOptions<E extends Env = Env> = {
  /** The limiters for this request, all of which must allow (none: the request passes). A
   * function must return the same array for the same choice (it is the cache key of the
   * precomputed RateLimit-Policy field). */
  limiters: readonly Limiter[] | ((c: Context<E>) => readonly Limiter[])
  /** The client's key (see client-identity/client-key.ts). */
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
  /** Called synchronously with every event; must not throw. */
  onEvent?: (event: RateLimitEvent) => void
  /** Current time in ms, for the legacy reset timestamp (default Date.now). */
  clock?: () => number
  /**
   * Up to this many whole seconds added at random to a refusal's `t` and `Retry-After` (default
   * 0: none). Clients refused in the same second then come back spread over that many seconds
   * instead of together (draft-11 asks servers to add jitter to `t`). It only ever moves the
   * retry later, so `Retry-After` still never points before the end of the effective window.
   */
  retryJitterSeconds?: number
  /** The jitter's source, an integer in [0, max] (default crypto.randomInt). */
  randomInt?: (max: number) => number
}

/** Creates the middleware; the limiters and their RateLimit-Policy field are prepared once. */
export function rateLimit<E extends Env = Env>(options: RateLimitOptions<E>): MiddlewareHandler<E> {
  const gate = createGate(options)
  return function rateLimitMiddleware(c, next) {
    const outcome = gate(c, next)
    // An allowed request returns next()'s promise as is; a refusal is a Response to wrap.
    return outcome instanceof Promise ? outcome : Promise.resolve(outcome)
  }
}

/**
 * `handler` behind the same decision as `rateLimit(options)`, as ONE handler: on a route with no
 * other middleware Hono calls it directly, without its middleware chain. With `refundWhen`, the
 * handler's response is `c.res` when `refundWhen` reads it.
 */
export function withRateLimit<E extends Env = Env>(
  options: RateLimitOptions<E>,
  handler: Handler<E>
): Handler<E> {
  const gate = createGate(options)
  return function rateLimitedHandler(c, next) {
    return gate(c, () => handler(c, next))
  }
}

/**
 * What both forms run: decides `c`'s request, then either refuses it (the 429 or 503 Response) or
 * sets its RateLimit fields and returns `proceed()` (next() for the middleware, the handler for
 * withRateLimit). Never throws: a bad key or cost (InvalidRequestError) becomes a rejection, as
 * from an async function, for the app's error handler.
 */
type Gate<E extends Env> = <T>(c: Context<E>, proceed: () => T) => Outcome<T>

/** `proceed()`'s result, or the refusal; a promise of either once something was awaited. */
type Outcome<T> = T | Response | Promise<Awaited<T> | Response>

function createGate<E extends Env>({
  limiters,
  key,
  cost = 1,
  refundWhen,
  shadow = false,
  legacyHeaders = false,
  rateLimitField = 'all',
  onEvent,
  clock = Date.now,
  retryJitterSeconds = 0,
  randomInt = (max) => cryptoRandomInt(max + 1),
}: RateLimitOptions<E>): Gate<E> {
  if (!Number.isInteger(retryJitterSeconds) || retryJitterSeconds < 0) {
    throw new RangeError(`retryJitterSeconds must be an integer >= 0, got ${retryJitterSeconds}`)
  }
  const prepared = new WeakMap<readonly Limiter[], PreparedLimiters>()
  const prepare = (list: readonly Limiter[]): PreparedLimiters => {
    let entry = prepared.get(list)
    if (entry === undefined) {
      entry = prepareLimiters(list)
      prepared.set(list, entry)
    }
    return entry
  }
  const fixed = typeof limiters === 'function' ? undefined : prepare(limiters)
  const simpleHeaders = !legacyHeaders

  return function gate<T>(c: Context<E>, proceed: () => T): Outcome<T> {
    try {
      const chosen = fixed ?? prepare((limiters as (c: Context<E>) => readonly Limiter[])(c))
      if (chosen.policies.length === 0) return proceed() // no policy applies to this request
      const keyed = key(c)
      const units = typeof cost === 'function' ? cost(c) : cost
      // In memory with a synchronous key (the usual case) nothing here waits: the request is
      // decided and answered without a promise of the middleware's own.
      if (chosen.now !== undefined && typeof keyed === 'string') {
        const started = onEvent === undefined ? 0 : performance.now()
        const decision = chosen.now.consumeNow(keyed, units)
        return answer(c, proceed, chosen, keyed, units, [decision], decision.allowed, started)
      }
      return decideInStore(c, proceed, chosen, keyed, units)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Asks the store (Redis, several limiters), then answers as `answer` does. */
  async function decideInStore<T>(
    c: Context<E>,
    proceed: () => T,
    chosen: PreparedLimiters,
    keyed: string | Promise<string>,
    units: number
  ): Promise<Awaited<T> | Response> {
    const clientKey = typeof keyed === 'string' ? keyed : await keyed
    // Timed only for the event that reports it.
    const started = onEvent === undefined ? 0 : performance.now()
    let decisions: readonly Decision[]
    let allowed: boolean
    try {
      if (chosen.single !== undefined) {
        const decision = await chosen.single.consume(clientKey, units)
        decisions = [decision]
        allowed = decision.allowed
      } else {
        const result = await (chosen.multi as MultiLimiter).consume(clientKey, units)
        decisions = result.decisions
        allowed = result.allowed
      }
    } catch (error) {
      // Anything else (InvalidRequestError: a key too long, a bad cost) is the app's to answer.
      if (!(error instanceof StoreUnavailableError)) throw error
      onEvent?.({
        type: 'store-unavailable',
        policies: chosen.policies,
        shadowed: shadow,
        error,
        durationMs: performance.now() - started,
      })
      if (shadow) return await proceed()
      // No policy was exceeded (none could be asked): none is named. The policies are the
      // resource's all the same.
      return sendProblem(
        c,
        temporaryReducedCapacity({
          detail: 'The rate limit store is unavailable and this service fails closed.',
        }),
        { 'Retry-After': '1', 'RateLimit-Policy': chosen.policyField }
      )
    }
    return await answer(c, proceed, chosen, clientKey, units, decisions, allowed, started)
  }

  /** Reports the decision, then lets the request through with its headers or refuses it. */
  function answer<T>(
    c: Context<E>,
    proceed: () => T,
    chosen: PreparedLimiters,
    clientKey: string,
    units: number,
    decisions: readonly Decision[],
    allowed: boolean,
    started: number
  ): Outcome<T> {
    onEvent?.({
      type: 'decision',
      decisions,
      allowed,
      shadowed: !allowed && shadow,
      cost: units,
      durationMs: performance.now() - started,
    })

    if (allowed && simpleHeaders) {
      // The usual request: allowed, draft fields only. No record, no list of members.
      setRateLimitFields(
        c,
        chosen.policyField,
        rateLimitFieldOf(chosen, decisions, rateLimitField, 0)
      )
      return afterHandler(c, proceed, chosen, clientKey, units)
    }

    const refused = !allowed && !shadow
    // One draw per request: every denied member's `t` and `Retry-After` move together.
    const jitter = refused && retryJitterSeconds > 0 ? randomInt(retryJitterSeconds) : 0
    const headers = rateLimitHeaders(chosen, decisions, {
      rateLimitField,
      legacyHeaders,
      clock,
      jitter,
    })
    if (refused) {
      const refusal = chosen.singleRefusal
      if (refusal !== undefined) {
        headers['Retry-After'] = String(
          retryAfterSeconds((decisions[0] as Decision).retryAfterMs) + jitter
        )
        return sendProblem(c, refusal.problem, headers, refusal.body)
      }
      const denied = decisions.filter((decision) => !decision.allowed)
      headers['Retry-After'] = String(
        retryAfterSeconds(Math.max(...denied.map((decision) => decision.retryAfterMs))) + jitter
      )
      return sendProblem(
        c,
        quotaExceeded({ violatedPolicies: denied.map((decision) => decision.policy.name) }),
        headers
      )
    }

    setRateLimitHeaders(c, headers)
    // Here only when allowed or shadowed: a shadowed denial consumed nothing, so nothing to refund.
    return afterHandler(c, proceed, chosen, clientKey, allowed ? units : 0)
  }

  /** Runs the handler; with `refundWhen`, gives the `units` it took back when it says so. */
  function afterHandler<T>(
    c: Context<E>,
    proceed: () => T,
    chosen: PreparedLimiters,
    clientKey: string,
    units: number
  ): T | Promise<Awaited<T>> {
    if (refundWhen === undefined || units === 0) return proceed()
    return Promise.resolve(proceed()).then((result) => {
      // The middleware's next() leaves the response in c.res; a wrapped handler returns it.
      if (result instanceof Response) c.res = result
      if (!refundWhen(c)) return result
      // Not awaited: the response does not wait for bookkeeping. A failed refund errs strict.
      refund(chosen, clientKey, units).catch((error: unknown) =>
        onEvent?.({ type: 'refund-failed', policies: chosen.policies, error })
      )
      return result
    })
  }
}

/**
 * The `RateLimit-Policy` field `rateLimit` sends for these limiters, for another middleware of the
 * same route that answers before it (see concurrencyLimit's `laterPolicies`).
 * @example
 * rateLimitPolicyField([perSecond, perMinute]) // '"burst";q=5;w=1, "minute";q=100;w=60'
 */
export function rateLimitPolicyField(limiters: readonly Limiter[]): string {
  return serializeRateLimitPolicy(
    limiters.map(({ policy }) => ({
      name: policy.name,
      quota: policy.limit,
      windowSeconds: toWindowSeconds(policy.windowMs),
    }))
  )
}

type PreparedLimiters = {
  single: Limiter | undefined
  /** The single limiter again when it decides synchronously (in memory). */
  now: Pick<MemoryLimiter, 'consumeNow'> | undefined
  multi: MultiLimiter | undefined
  policies: readonly Policy[]
  /** The RateLimit-Policy field: stable, so serialized once. */
  policyField: string
  /** Per policy (same order), its RateLimit member with the name serialized once. */
  members: readonly ((remaining: number, resetSeconds: number) => string)[]
  /** With one policy, a refusal always names it: the problem, serialized once. */
  singleRefusal: { problem: ProblemDetails; body: string } | undefined
}

function prepareLimiters(limiters: readonly Limiter[]): PreparedLimiters {
  const policies = limiters.map((limiter) => limiter.policy)
  return {
    single: limiters.length === 1 ? limiters[0] : undefined,
    now:
      limiters.length === 1 && 'consumeNow' in (limiters[0] as Limiter)
        ? (limiters[0] as MemoryLimiter)
        : undefined,
    multi: limiters.length > 1 ? createMultiLimiter(limiters) : undefined,
    policies,
    policyField: rateLimitPolicyField(limiters),
    members: policies.map((policy) => rateLimitMember(policy.name)),
    singleRefusal: limiters.length === 1 ? singleRefusal(policies[0] as Policy) : undefined,
  }
}

function singleRefusal(policy: Policy): { problem: ProblemDetails; body: string } {
  const problem = quotaExceeded({ violatedPolicies: [policy.name] })
  return { problem, body: JSON.stringify(problem) }
}

function refund(chosen: PreparedLimiters, key: string, units: number): Promise<void> {
  return chosen.single !== undefined
    ? chosen.single.refund(key, units)
    : (chosen.multi as MultiLimiter).refund(key, units)
}

/**
 * The RateLimit member of the policy at `index`. Its `t`: while the policy denies, the wait until
 * a request of this cost can pass (so that `Retry-After`, the largest of these, never points
 * earlier than the effective window, as the draft requires); while it allows, the time until its
 * quota is whole again.
 */
function member(
  chosen: PreparedLimiters,
  index: number,
  decision: Decision,
  jitter: number
): string {
  // Admitted because the store failed open: the client's standing is unknown, so its member is
  // left out rather than made up (the draft allows a subset).
  if (unknownStanding(decision)) return ''
  const serialize = chosen.members[index] as (remaining: number, resetSeconds: number) => string
  return serialize(
    decision.remaining,
    decision.allowed
      ? toDelaySeconds(decision.resetMs)
      : retryAfterSeconds(decision.retryAfterMs) + jitter
  )
}

/** The RateLimit field: a member per policy, or only the most restrictive one's. */
function rateLimitFieldOf(
  chosen: PreparedLimiters,
  decisions: readonly Decision[],
  mode: 'all' | 'most-restrictive',
  jitter: number,
  most?: Decision
): string {
  // One policy (the usual case): its member, whatever the mode.
  if (decisions.length === 1) return member(chosen, 0, decisions[0] as Decision, jitter)
  if (mode === 'all') {
    return decisions
      .map((decision, index) => member(chosen, index, decision, jitter))
      .filter((text) => text !== '')
      .join(', ')
  }
  const chosenMost = most ?? mostRestrictive(decisions.filter((d) => !unknownStanding(d)))
  if (chosenMost === undefined) return ''
  return member(chosen, decisions.indexOf(chosenMost), chosenMost, jitter)
}

function rateLimitHeaders(
  chosen: PreparedLimiters,
  decisions: readonly Decision[],
  options: {
    rateLimitField: 'all' | 'most-restrictive'
    legacyHeaders: boolean
    clock: () => number
    /** Whole seconds added to every denied policy's `t`. */
    jitter: number
  }
): Record<string, string> {
  const most = decisions.length === 1 ? (decisions[0] as Decision) : mostRestrictive(decisions)
  // Decisions come in the order of the limiters, so `index` names the policy of each.
  const headers: Record<string, string> = { 'RateLimit-Policy': chosen.policyField }
  const field = rateLimitFieldOf(chosen, decisions, options.rateLimitField, options.jitter, most)
  if (field !== '') headers.RateLimit = field
  if (options.legacyHeaders && !unknownStanding(most)) {
    Object.assign(
      headers,
      legacyRateLimitHeaders({
        limit: most.policy.limit,
        remaining: most.remaining,
        resetMs: most.allowed ? most.resetMs : most.retryAfterMs,
        nowMs: options.clock(),
      })
    )
  }
  return headers
}

/** A decision admitted by the fail-open outage policy: no store counted it. */
function unknownStanding(decision: Decision): boolean {
  return (decision as { source?: string }).source === 'fail-open'
}
