import { randomBytes } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import type { Logger } from 'pino'

/**
 * The headers hono/secure-headers sets with its defaults (lower-case names), for a response built
 * outside the middleware chain (the shortener's redirect); kit-middleware.test.ts checks the list
 * stays equal to hono's.
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

/**
 * Ids unique within the process, and across processes with near certainty: a random prefix
 * drawn once (72 bits) and a counter, so nothing random is drawn per request (hono/request-id's
 * default is a `crypto.randomUUID()` per request).
 */
function createRequestIds(): () => string {
  const prefix = randomBytes(9).toString('base64url')
  let counter = 0
  return () => `${prefix}-${(++counter).toString(36)}`
}

/**
 * The kit's standard stack, in order: hono/request-id (X-Request-Id, kept from the client when
 * valid, also in `c.get('requestId')`), hono/secure-headers with its defaults (removes
 * X-Powered-By) and, when `accessLog`, one log line per request: at the level it names
 * (`true` is `'debug'`) for 2xx–4xx, error for 5xx. Mount it first so its headers land on every answer, errors and 404s included. Hono's own
 * middlewares, so the answer is the same under `app.request()` and on a socket.
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
  /** false: no access log; true or 'debug': 2xx–4xx at debug; 'info': at info. */
  accessLog?: boolean | 'debug' | 'info'
}): MiddlewareHandler {
  const ids = requestId({ generator: createRequestIds() })
  const headers = secureHeaders()

  const kit: MiddlewareHandler = async function kit(c, next) {
    await ids(c, async () => {
      await headers(c, next)
    })
    // hono/request-id sets the header before the handler runs; a handler that returns a Response
    // of its own (not built through `c`) replaces it, so the id is put back on the answer.
    if (!c.res.headers.has('x-request-id')) c.res.headers.set('x-request-id', c.get('requestId'))
  }

  if (!accessLog) return kit
  const level = accessLog === true ? 'debug' : accessLog

  return async function kitWithAccessLog(c, next) {
    const started = performance.now()
    await kit(c, next)
    const status = c.res.status
    // Checked before building the entry: at 'info' a 2xx costs two clock reads, no object.
    if (status < 500 && !logger.isLevelEnabled(level)) return
    const entry = {
      reqId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    }
    if (status >= 500) logger.error(entry, 'request')
    else logger[level](entry, 'request')
  }
}
