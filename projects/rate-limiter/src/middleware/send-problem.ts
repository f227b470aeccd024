import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { PROBLEM_CONTENT_TYPE, type ProblemDetails } from '../problem-details.ts'

/** Fields that are Structured Field Lists: several middlewares each add their members. */
const LIST_FIELDS = new Set(['RateLimit-Policy', 'RateLimit'])
const APPEND = { append: true } as const

/**
 * Adds rate-limit headers to the response being prepared. `RateLimit-Policy` and `RateLimit` are
 * appended (a List split over field lines is one List, RFC 9651 § 4.2), so a route behind both a
 * rate limit and a concurrency limit reports both policies; the others are set.
 */
export function setRateLimitHeaders(c: Context, headers: Record<string, string>): void {
  for (const name in headers) {
    c.header(name, headers[name], LIST_FIELDS.has(name) ? APPEND : undefined)
  }
}

/**
 * Answers an RFC 9457 problem through the context, so headers earlier middleware prepared (an
 * outer limiter's RateLimit fields, the request id) stay on the refusal. `body` is the problem
 * serialized, when the caller keeps it ready (a refusal that is always the same).
 */
export function sendProblem(
  c: Context,
  problem: ProblemDetails,
  headers: Record<string, string>,
  body: string = JSON.stringify(problem)
): Response {
  setRateLimitHeaders(c, headers)
  return c.body(body, problem.status as ContentfulStatusCode, {
    'Content-Type': PROBLEM_CONTENT_TYPE,
  })
}
