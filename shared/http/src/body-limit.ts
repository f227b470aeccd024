import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { errorJson } from './errors.ts'

/**
 * hono/body-limit answering the kit's 413. It trusts Content-Length when that is the only
 * length header, and otherwise (chunked) counts the streamed bytes before the handler runs.
 *
 * @example
 * ```ts
 * app.post('/links', limitBody(16 * 1024), validator('json', schema), handler)
 * ```
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => errorJson(c, 413, 'payload_too_large', `Body exceeds ${maxBytes} bytes`),
  })
}
