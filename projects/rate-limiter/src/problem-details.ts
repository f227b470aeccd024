/**
 * RFC 9457 problem details for the two refusals of a rate limiter, with the problem types the
 * RateLimit headers draft registers (draft-ietf-httpapi-ratelimit-headers-11 § 7.3).
 *
 * @example
 * return problemResponse(quotaExceeded({ violatedPolicies: ['api'] }), { 'Retry-After': '5' })
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

const PROBLEM_TYPES_BASE = 'https://iana.org/assignments/http-problem-types'

export const PROBLEM_TYPES = {
  quotaExceeded: `${PROBLEM_TYPES_BASE}#quota-exceeded`,
  temporaryReducedCapacity: `${PROBLEM_TYPES_BASE}#temporary-reduced-capacity`,
} as const

/** An RFC 9457 body with the draft's `violated-policies` extension member. */
export type ProblemDetails = {
  type: string
  title: string
  status: number
  detail?: string
  instance?: string
  'violated-policies'?: string[]
}

/** 429: the client used up its quota under the named policies. */
export function quotaExceeded(options: {
  violatedPolicies: string[]
  detail?: string
  instance?: string
}): ProblemDetails {
  const { violatedPolicies, detail, instance } = options
  return {
    type: PROBLEM_TYPES.quotaExceeded,
    title: 'Too Many Requests',
    status: 429,
    ...(detail !== undefined && { detail }),
    ...(instance !== undefined && { instance }),
    'violated-policies': violatedPolicies,
  }
}

/**
 * 503: the server lowered the capacity it gives clients (load shedding, or a limiter that cannot
 * decide because its store is down and the policy is to fail closed).
 */
export function temporaryReducedCapacity(
  options: {
    violatedPolicies?: string[]
    detail?: string
    instance?: string
  } = {}
): ProblemDetails {
  const { violatedPolicies, detail, instance } = options
  return {
    type: PROBLEM_TYPES.temporaryReducedCapacity,
    title: 'Service Unavailable',
    status: 503,
    ...(detail !== undefined && { detail }),
    ...(instance !== undefined && { instance }),
    // Named only when one was exceeded; a store outage or a full server exceeds none.
    ...(violatedPolicies?.length && { 'violated-policies': violatedPolicies }),
  }
}

/** The problem as a `Response` with `content-type: application/problem+json` and extra headers. */
export function problemResponse(
  problem: ProblemDetails,
  headers: Record<string, string> | Headers = {}
): Response {
  const responseHeaders = new Headers(headers)
  responseHeaders.set('content-type', PROBLEM_CONTENT_TYPE)
  return new Response(JSON.stringify(problem), { status: problem.status, headers: responseHeaders })
}
