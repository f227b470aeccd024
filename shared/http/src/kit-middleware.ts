import { randomBytes } from 'node:crypto'
import { ServerResponse } from 'node:http'
import type { OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http'
import type { MiddlewareHandler } from 'hono'
import type { Logger } from 'pino'
import { nodeResponse, requestHeader } from './node-request.ts'

/**
 * The headers hono/secure-headers sets with its defaults (lower-case names). kitMiddleware
 * replaces any value a handler set for them, as hono/secure-headers does; kit-middleware.test.ts
 * checks the list stays equal to hono's.
 */
export const SECURE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=15552000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
})

const SECURE_ENTRIES = Object.entries(SECURE_HEADERS)
/** Headers a handler's answer loses: the kit sets them itself, or (X-Powered-By) none should. */
const REPLACED = new Set([...Object.keys(SECURE_HEADERS), 'x-powered-by'])

/** hono/request-id's rule: an incoming X-Request-Id is kept when it is this short and safe. */
function isSafeRequestId(id: string): boolean {
  return id.length > 0 && id.length <= 255 && !/[^\w\-=]/.test(id)
}

/**
 * Ids unique within the process, and across processes with near certainty: a random prefix
 * drawn once (72 bits) and a counter. Nothing random is drawn per request.
 */
function createRequestIds(): () => string {
  const prefix = randomBytes(9).toString('base64url')
  let counter = 0
  return () => `${prefix}-${(++counter).toString(36)}`
}

const requestIdKey = Symbol('kitRequestId')
type KitServerResponse = ServerResponse & { [requestIdKey]?: string }
type RawHeaders = OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined

/** Node's own writeHead; it takes (statusCode, reason, headers) with `reason` undefined too. */
const nodeWriteHead: (
  this: ServerResponse,
  statusCode: number,
  reason: string | undefined,
  headers: RawHeaders
) => ServerResponse = ServerResponse.prototype.writeHead

/**
 * The answer's headers with the kit's merged in: the secure headers replace the handler's and
 * X-Powered-By is dropped (as hono/secure-headers does); X-Request-Id is added unless the answer
 * has one. Node accepts an object or a flat [name, value, ...] array; @hono/node-server passes an
 * object.
 */
function withKitHeaders(given: RawHeaders, res: KitServerResponse): RawHeaders {
  // The request id to add, until the answer turns out to carry its own.
  let requestId = res.hasHeader('x-request-id') ? undefined : res[requestIdKey]
  const kept = (name: string) => {
    const lower = name.toLowerCase()
    if (lower === 'x-request-id') requestId = undefined
    return !REPLACED.has(lower)
  }
  if (Array.isArray(given)) {
    const headers = given.filter((_, i) => kept(String(given[i - (i % 2)])))
    headers.push(...SECURE_ENTRIES.flat())
    if (requestId !== undefined) headers.push('x-request-id', requestId)
    return headers
  }
  const headers: OutgoingHttpHeaders = {}
  for (const name in given) if (kept(name)) headers[name] = given[name]
  Object.assign(headers, SECURE_HEADERS)
  if (requestId !== undefined) headers['x-request-id'] = requestId
  return headers
}

/**
 * `ServerResponse#writeHead` of one request: the kit's headers join the answer's in the one
 * object Node writes, where each costs a string check; no Web `Headers` object is involved.
 */
function writeHeadWithKitHeaders(
  this: KitServerResponse,
  statusCode: number,
  reasonOrHeaders?: string | RawHeaders,
  headersAfterReason?: RawHeaders
): ServerResponse {
  const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : undefined
  const given = reason === undefined ? (reasonOrHeaders as RawHeaders) : headersAfterReason
  // A header set earlier with setHeader() is merged by Node under ours; this one must go.
  this.removeHeader('x-powered-by')
  return nodeWriteHead.call(this, statusCode, reason, withKitHeaders(given, this))
}

/**
 * The kit's standard stack, in order: request id (X-Request-Id, kept from the client when
 * valid, also in `c.get('requestId')`), secure headers (hono/secure-headers defaults; removes
 * X-Powered-By) and, when `accessLog`, one log line per request: debug for 2xx–4xx, error for
 * 5xx. Mount it first so its headers land on every answer, errors and 404s included.
 *
 * Same behaviour as hono/request-id + hono/secure-headers, a fraction of the cost. Served by
 * @hono/node-server, the headers are added where Node writes the answer (this request's
 * `writeHead`), not to the Web `Headers` of `c.res`: setting 12 headers there validated each one,
 * and turned every answer into a `Headers` object for @hono/node-server to walk. On a redirect
 * that was more CPU than the rest of the request. Under `app.request()` (tests) the same headers
 * are set on `c.res.headers`.
 *
 * @example
 * ```ts
 * app.use(kitMiddleware({ logger, accessLog: true }))
 * ```
 */
export function kitMiddleware({
  logger,
  accessLog = false,
}: {
  logger: Logger
  accessLog?: boolean
}): MiddlewareHandler {
  const nextRequestId = createRequestIds()

  const kit: MiddlewareHandler = async function kit(c, next) {
    const given = requestHeader(c, 'x-request-id')
    const id = given !== undefined && isSafeRequestId(given) ? given : nextRequestId()
    c.set('requestId', id)
    const outgoing: KitServerResponse | undefined = nodeResponse(c)
    if (outgoing) {
      outgoing[requestIdKey] = id
      outgoing.writeHead = writeHeadWithKitHeaders as ServerResponse['writeHead']
      await next()
      return
    }
    await next()
    const headers = c.res.headers
    for (const [name, value] of SECURE_ENTRIES) headers.set(name, value)
    headers.delete('x-powered-by')
    if (!headers.has('x-request-id')) headers.set('x-request-id', id)
  }

  if (!accessLog) return kit

  return async function kitWithAccessLog(c, next) {
    const started = performance.now()
    await kit(c, next)
    const status = c.res.status
    // Checked before building the entry: at 'info' a 2xx costs two clock reads, no object.
    if (status < 500 && !logger.isLevelEnabled('debug')) return
    const entry = {
      reqId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    }
    if (status >= 500) logger.error(entry, 'request')
    else logger.debug(entry, 'request')
  }
}
