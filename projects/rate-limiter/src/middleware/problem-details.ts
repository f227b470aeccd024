/**
 * RFC 9457 problem details for the refusals of a rate limiter, in the kit's one shape (`type`,
 * `title`, `status`, `code`, `detail`), with the problem types and the `violated-policies` member
 * the RateLimit headers draft registers (draft-ietf-httpapi-ratelimit-headers-11 § 7.3). This
 * folder builds them itself so that it copies out alone; `@kit/http` answers every other error in
 * the same shape.
 *
 * @example
 * return sendProblem(c, quotaExceeded({ violatedPolicies: ['api'] }), { 'Retry-After': '5' })
 */
import type { Context } from 'hono'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

const PROBLEM_TYPES_BASE = 'https://iana.org/assignments/http-problem-types'

export const PROBLEM_TYPES = {
  quotaExceeded: `${PROBLEM_TYPES_BASE}#quota-exceeded`,
  temporaryReducedCapacity: `${PROBLEM_TYPES_BASE}#temporary-reduced-capacity`,
} as const

/** An RFC 9457 body: the kit's members plus the draft's `violated-policies`. */
export type ProblemDetails = {
  type: string
  title: string
  status: 429 | 503
  /** Stable, snake_case: what a program branches on. */
  code: string
  detail: string
  /** The policies the request exceeded; absent when none was (an outage, a full server). */
  'violated-policies'?: string[]
}

/** 429: the client used up its quota under the named policies. */
export function quotaExceeded({
  violatedPolicies,
  code = 'quota_exceeded',
  detail = `Quota exceeded: ${violatedPolicies.join(', ')}`,
}: {
  violatedPolicies: string[]
  code?: string
  detail?: string
}): ProblemDetails {
  return {
    type: PROBLEM_TYPES.quotaExceeded,
    title: 'Too Many Requests',
    status: 429,
    code,
    detail,
    'violated-policies': violatedPolicies,
  }
}

/**
 * 503: the server lowered the capacity it gives clients: it is shedding load, or a limiter cannot
 * decide (its store is down and it fails closed). No policy is named unless one was exceeded.
 */
export function temporaryReducedCapacity({
  code,
  detail,
  violatedPolicies,
}: {
  code: string
  detail: string
  violatedPolicies?: string[]
}): ProblemDetails {
  return {
    type: PROBLEM_TYPES.temporaryReducedCapacity,
    title: 'Service Unavailable',
    status: 503,
    code,
    detail,
    ...(violatedPolicies?.length ? { 'violated-policies': violatedPolicies } : {}),
  }
}

/**
 * Answers `problem` through the context, so the headers set before with `c.header()` (the
 * RateLimit fields, the request id) stay on the refusal. `body` is the problem serialized, when
 * the caller keeps it ready (a refusal that never changes).
 */
export function sendProblem(
  c: Context,
  problem: ProblemDetails,
  headers: Record<string, string> = {},
  body: string = JSON.stringify(problem)
): Response {
  return c.body(body, problem.status, {
    ...headers,
    'Content-Type': PROBLEM_CONTENT_TYPE,
  })
}
