import { HttpError } from '@kit/http'
import type { MiddlewareHandler } from 'hono'

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/**
 * Refuses a body that is not declared as JSON with 415, before any validator reads it: without
 * this, JSON sent as `text/plain` is read as an empty object and answered "url: received
 * undefined", which sends the client looking at the wrong thing (RFC 9110 §15.5.16).
 *
 * @example
 * ```ts
 * app.post('/api/links', requireJson, validator('json', schema), handler)
 * ```
 */
export const requireJson: MiddlewareHandler = async function requireJson(c, next) {
  if (!JSON_TYPE.test(c.req.header('content-type') ?? '')) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      'Send the body as JSON with Content-Type: application/json'
    )
  }
  await next()
}
