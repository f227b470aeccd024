import { STATUS_CODES } from 'node:http'
import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Logger } from 'pino'

/** The media type of every error body the kit answers (RFC 9457 § 3). */
export const PROBLEM_JSON = 'application/problem+json'

/** One field at fault: `path` is dotted (`links.3.url`), '' for the whole input. */
export type FieldError = { path: string; message: string }

/**
 * The body of every 4xx/5xx the kit answers: RFC 9457 problem details. `code` is a stable,
 * snake_case extension member for programs to branch on; `errors` lists the fields at fault.
 * `type` is 'about:blank' (the status says it all) unless a registered problem type fits.
 */
export type Problem = {
  type: string
  title: string
  status: number
  code: string
  detail: string
  errors?: FieldError[]
  instance?: string
  [extension: string]: unknown
}

/** What a problem may carry besides its status, code and detail. */
export type ProblemOptions = {
  errors?: FieldError[]
  headers?: Record<string, string>
  /** A problem type URI; default 'about:blank'. */
  type?: string
  /** Further extension members (RFC 9457 § 3.2), e.g. `{ 'violated-policies': ['api'] }`. */
  extensions?: Record<string, unknown>
}

/**
 * An expected failure. Throw it from a handler; `errorHandler` answers it with its status,
 * headers and a Problem body.
 *
 * @example
 * ```ts
 * throw new HttpError(409, 'alias_taken', `Alias ${alias} is already in use`, {
 *   errors: [{ path: 'alias', message: 'is already taken' }],
 * })
 * throw new HttpError(503, 'redis_unavailable', 'Try again shortly', { headers: { 'Retry-After': '1' } })
 * ```
 */
export class HttpError extends Error {
  readonly status: ContentfulStatusCode
  readonly code: string
  readonly options: ProblemOptions

  constructor(
    status: ContentfulStatusCode,
    code: string,
    detail: string,
    options: ProblemOptions & { cause?: unknown } = {}
  ) {
    super(detail, { cause: options.cause })
    this.name = this.constructor.name
    this.status = status
    this.code = code
    const { cause: _cause, ...rest } = options
    this.options = rest
  }

  get errors(): FieldError[] | undefined {
    return this.options.errors
  }
}

/**
 * The Problem object itself, for bodies that embed one (a bulk operation's per-row outcome).
 *
 * @example
 * ```ts
 * problemBody(400, 'validation_failed', 'Invalid link', { errors: [{ path: 'url', message: 'Invalid URL' }] })
 * ```
 */
export function problemBody(
  status: number,
  code: string,
  detail: string,
  { errors, type = 'about:blank', extensions }: Omit<ProblemOptions, 'headers'> = {}
): Problem {
  return {
    type,
    title: STATUS_CODES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
    status,
    code,
    detail,
    ...(errors?.length ? { errors } : {}),
    ...extensions,
  }
}

/**
 * The kit's error response through the Context, so headers already set with `c.header()`
 * (request id, RateLimit fields) stay on it.
 *
 * @example
 * ```ts
 * return problem(c, 429, 'rate_limited', 'Too many requests', { headers: { 'Retry-After': '5' } })
 * ```
 */
export function problem(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  detail: string,
  { headers, ...options }: ProblemOptions = {}
): Response {
  return c.body(JSON.stringify(problemBody(status, code, detail, options)), status, {
    ...headers,
    'content-type': PROBLEM_JSON,
  })
}

/**
 * The same error response as a plain `Response`, for code that has no Context (a fallback
 * handler, a pattern's callback).
 *
 * @example
 * ```ts
 * if (!isRedisReady(redis)) return problemResponse(503, 'redis_unavailable', 'Try again shortly')
 * ```
 */
export function problemResponse(
  status: ContentfulStatusCode,
  code: string,
  detail: string,
  { headers, ...options }: ProblemOptions = {}
): Response {
  return new Response(JSON.stringify(problemBody(status, code, detail, options)), {
    status,
    headers: { ...headers, 'content-type': PROBLEM_JSON },
  })
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
 * - HttpError → its status, code, field errors and headers;
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
      if (err.status >= 500) logger.error({ err, reqId: c.get('requestId') }, 'request failed')
      return problem(c, err.status, err.code, err.message, err.options)
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
      return problem(
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
    return problem(c, 500, 'internal_error', 'Internal server error')
  }
}

/** Problem-details 404 for every app: `app.notFound(notFoundHandler)`. */
export const notFoundHandler: NotFoundHandler = function kitNotFound(c) {
  return problem(c, 404, 'not_found', `No route for ${c.req.method} ${c.req.path}`)
}
