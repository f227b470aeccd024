import { createHash, timingSafeEqual } from 'node:crypto'
import { HttpError } from '@kit/http'
import type { Context, MiddlewareHandler } from 'hono'

/** Set by `apiKeyAuth` for the handlers after it. */
export type ApiKeyVariables = { authenticated: boolean }

export type ApiKeyAuthOptions = {
  apiKey: string
  /** false: requests without a key pass as anonymous (a wrong key is still refused). */
  required?: boolean
}

/** The key a request presents: `X-API-Key: <key>` or `Authorization: Bearer <key>`. */
export function presentedApiKey(c: Context): string | undefined {
  const header = c.req.header('x-api-key')
  if (header) return header
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')
  return match?.[1]
}

/**
 * Compares keys in constant time. Both sides are hashed first so the comparison also takes the
 * same time whatever the presented key's length (timingSafeEqual needs equal lengths).
 */
export function createApiKeyVerifier(apiKey: string): (presented: string) => boolean {
  const expected = createHash('sha256').update(apiKey).digest()
  return function verifyApiKey(presented) {
    return timingSafeEqual(createHash('sha256').update(presented).digest(), expected)
  }
}

/**
 * Guards the management API with one shared key. Answers 401 with `WWW-Authenticate: Bearer`
 * and the kit's JSON error body when the key is missing (if required) or wrong.
 *
 * @example
 * ```ts
 * app.get('/api/links', apiKeyAuth({ apiKey }), (c) => ...)
 * app.post('/api/links', apiKeyAuth({ apiKey, required: false }), (c) => c.get('authenticated'))
 * ```
 */
export function apiKeyAuth({
  apiKey,
  required = true,
}: ApiKeyAuthOptions): MiddlewareHandler<{ Variables: ApiKeyVariables }> {
  const verify = createApiKeyVerifier(apiKey)
  return async function apiKeyAuth(c, next) {
    const presented = presentedApiKey(c)
    if (presented === undefined && !required) {
      c.set('authenticated', false)
      return next()
    }
    if (presented === undefined || !verify(presented)) {
      throw new HttpError(
        401,
        'unauthorized',
        'A valid API key is required: X-API-Key or Authorization: Bearer',
        {
          headers: { 'WWW-Authenticate': 'Bearer realm="url-shortener"' },
        }
      )
    }
    c.set('authenticated', true)
    return next()
  }
}
