import { ServerResponse } from 'node:http'
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { PROBLEM_CONTENT_TYPE, type ProblemDetails } from '../problem-details.ts'

/** Fields that are Structured Field Lists: several middlewares each add their members. */
const LIST_FIELDS = new Set(['RateLimit-Policy', 'RateLimit'])
const APPEND = { append: true } as const

/** The Node response under @hono/node-server (its `c.env.outgoing`), while its head is unsent. */
function nodeResponse(c: Context): ServerResponse | undefined {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing
  return outgoing instanceof ServerResponse && !outgoing.headersSent ? outgoing : undefined
}

/**
 * Adds rate-limit headers to the response being prepared. `RateLimit-Policy` and `RateLimit` are
 * appended (a List split over field lines is one List, RFC 9651 § 4.2), so a route behind both a
 * rate limit and a concurrency limit reports both policies; the others are set.
 *
 * On Node the fields go straight onto the `ServerResponse`, which merges them into whatever head
 * the handler's response writes. Hono's `c.header()` would build a WHATWG `Headers` object
 * (undici validates every field) and move @hono/node-server off its plain-object fast path: on
 * every limited request, that cost more than the limiter's own decision. Elsewhere (Bun, Deno,
 * `app.request()` in tests) `c.header()` does the same job. A middleware that reads
 * `c.res.headers` after the handler therefore does not see these fields on Node.
 */
export function setRateLimitHeaders(c: Context, headers: Record<string, string>): void {
  const res = nodeResponse(c)
  for (const name in headers) setField(c, res, name, headers[name] as string)
}

/** The two draft-11 fields of an allowed request: the common case, without a record. */
export function setRateLimitFields(c: Context, policyField: string, rateLimitField: string): void {
  const res = nodeResponse(c)
  setField(c, res, 'RateLimit-Policy', policyField)
  // Empty: no member is known (the store failed open), so the field is left out.
  if (rateLimitField !== '') setField(c, res, 'RateLimit', rateLimitField)
}

function setField(c: Context, res: ServerResponse | undefined, name: string, value: string): void {
  const list = LIST_FIELDS.has(name)
  if (res === undefined) c.header(name, value, list ? APPEND : undefined)
  // appendHeader validates, then calls setHeader, which validates again: append only to a field
  // that is there already (another limiter's).
  else if (list && res.hasHeader(name)) res.appendHeader(name, value)
  else res.setHeader(name, value)
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
