import { STATUS_CODES } from 'node:http'
import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Logger } from 'pino'

/** One field problem: `path` is dotted (`links.3.url`), '' for the whole input. */
export type ErrorIssue = { path: string; message: string }

/** The body of every 4xx/5xx the kit answers. */
export type ErrorBody = { error: { code: string; message: string; issues?: ErrorIssue[] } }

/**
 * An expected failure. Throw it from a handler; `errorHandler` answers it with its status,
 * headers and an ErrorBody.
 *
 * @example
 * ```ts
 * throw new HttpError(409, 'alias_taken', `Alias ${alias} is already in use`)
 * throw new HttpError(503, 'redis_unavailable', 'Try again shortly', { headers: { 'Retry-After': '1' } })
 * ```
 */
export class HttpError extends Error {
  readonly status: ContentfulStatusCode
  readonly code: string
  readonly issues?: ErrorIssue[]
  readonly headers?: Record<string, string>

  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    options: { issues?: ErrorIssue[]; headers?: Record<string, string>; cause?: unknown } = {}
  ) {
    super(message, { cause: options.cause })
    this.name = this.constructor.name
    this.status = status
    this.code = code
    this.issues = options.issues
    this.headers = options.headers
  }
}

function errorBody(code: string, message: string, issues?: ErrorIssue[]): ErrorBody {
  return { error: issues?.length ? { code, message, issues } : { code, message } }
}

/**
 * Builds the kit's JSON error response, for handlers that return rather than throw. It is a
 * plain Response: headers set earlier with `c.header()` are not carried over, so when there
 * are some (rate-limit headers, Retry-After) use `errorJson(c, …)` or throw an HttpError.
 *
 * @example
 * ```ts
 * if (!isRedisReady(redis)) return errorResponse(503, 'redis_unavailable', 'Try again shortly')
 * ```
 */
export function errorResponse(
  status: ContentfulStatusCode,
  code: string,
  message: string,
  { issues, headers }: { issues?: ErrorIssue[]; headers?: Record<string, string> } = {}
): Response {
  return new Response(JSON.stringify(errorBody(code, message, issues)), {
    status,
    headers: { ...headers, 'content-type': 'application/json' },
  })
}

/**
 * The same error response built through the Context, so headers already set with
 * `c.header()` (request id, RateLimit-*) stay on it.
 *
 * @example
 * ```ts
 * c.header('RateLimit-Remaining', '0')
 * return errorJson(c, 429, 'rate_limited', 'Too many requests', { headers: { 'Retry-After': '5' } })
 * ```
 */
export function errorJson(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  { issues, headers }: { issues?: ErrorIssue[]; headers?: Record<string, string> } = {}
): Response {
  return c.json(errorBody(code, message, issues), status, headers)
}

/** 'Payload Too Large' → 'payload_too_large', from Node's table of reason phrases. */
function codeForStatus(status: number): string {
  if (status === 500) return 'internal_error'
  const phrase = STATUS_CODES[status] ?? (status >= 500 ? 'server error' : 'client error')
  return phrase
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '')
}

/**
 * The single `app.onError` of every app:
 * - HttpError → its status, code, issues and headers;
 * - Hono's HTTPException (body limit, validator, timeout, auth…) → its status, a code derived
 *   from the status, and its headers (e.g. WWW-Authenticate);
 * - anything else → 500 'internal_error', logged with the request id, message never echoed
 *   (nodebestpractices 6.20).
 *
 * @example
 * ```ts
 * app.onError(errorHandler({ logger }))
 * ```
 */
export function errorHandler({ logger }: { logger: Logger }): ErrorHandler {
  return function kitErrorHandler(err, c) {
    if (err instanceof HttpError) {
      return errorJson(c, err.status, err.code, err.message, {
        issues: err.issues,
        headers: err.headers,
      })
    }
    if (err instanceof HTTPException) {
      const { status } = err
      if (status >= 500) logger.error({ err, reqId: c.get('requestId') }, 'request failed')
      // hono/validator throws this exact message when c.req.json() cannot parse the body.
      const malformedJson = status === 400 && err.message.startsWith('Malformed JSON')
      const headers: Record<string, string> = {}
      err.res?.headers.forEach((value, name) => {
        if (name !== 'content-type' && name !== 'content-length') headers[name] = value
      })
      return errorJson(
        c,
        status,
        malformedJson ? 'malformed_json' : codeForStatus(status),
        status < 500 && err.message ? err.message : (STATUS_CODES[status] ?? 'Error'),
        { headers }
      )
    }
    logger.error(
      { err, reqId: c.get('requestId'), method: c.req.method, path: c.req.path },
      'unhandled error'
    )
    return errorJson(c, 500, 'internal_error', 'Internal server error')
  }
}

/** JSON 404 for every app: `app.notFound(notFoundHandler)`. */
export const notFoundHandler: NotFoundHandler = function kitNotFound(c) {
  return errorJson(c, 404, 'not_found', `No route for ${c.req.method} ${c.req.path}`)
}
