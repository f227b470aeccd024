import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { problem } from './errors.ts'
import { requestHeader } from './node-request.ts'

/**
 * hono/body-limit answering the kit's 413. It trusts Content-Length when that is the only
 * length header, and otherwise (chunked) counts the streamed bytes before the handler runs.
 *
 * The Content-Length case is decided from the request's headers alone, before hono/body-limit
 * is asked: that middleware first tests `c.req.raw.body`, which under @hono/node-server turns the
 * lightweight request into a full WHATWG Request with a body stream, and then JSON parsing reads
 * through that stream instead of straight from Node. It was the largest single cost of a small
 * POST.
 *
 * @example
 * ```ts
 * app.post('/links', limitBody(16 * 1024), validator('json', schema), handler)
 * ```
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = (c: Context) =>
    problem(c, 413, 'payload_too_large', `Body exceeds ${maxBytes} bytes`)
  const countStreamedBytes = bodyLimit({ maxSize: maxBytes, onError: tooLarge })

  return async function limitBody(c, next) {
    // GET and HEAD carry no body (hono/body-limit lets them through for the same reason).
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next()
    const length = requestHeader(c, 'content-length')
    if (length !== undefined && requestHeader(c, 'transfer-encoding') === undefined) {
      return Number.parseInt(length, 10) > maxBytes ? tooLarge(c) : next()
    }
    return countStreamedBytes(c, next)
  }
}
