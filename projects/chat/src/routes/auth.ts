import { HttpError } from '@kit/http'
import type { MiddlewareHandler } from 'hono'
import type { Tokens } from '../auth/tokens.ts'

export type AuthEnv = { Variables: { user: string } }

/** The bearer token of a request: the Authorization header, or for browsers the subprotocol. */
export function bearerToken(
  authorization: string | undefined,
  protocols: string | undefined
): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')
  if (match) return match[1]
  // Browsers cannot set headers on a WebSocket; they offer `bearer.<token>` as a subprotocol
  // beside `chat.v1`, which is the one the server selects (the token never appears in a URL).
  return protocols
    ?.split(',')
    .map((protocol) => protocol.trim())
    .find((protocol) => protocol.startsWith('bearer.'))
    ?.slice('bearer.'.length)
}

/**
 * Requires a valid, unrevoked bearer token: 401 problem with `WWW-Authenticate: Bearer`
 * otherwise (RFC 6750 § 3), 503 when the revocation list cannot be read (fail closed).
 */
export function requireUser(tokens: Tokens): MiddlewareHandler<AuthEnv> {
  return async function requireUser(c, next) {
    const token = bearerToken(c.req.header('authorization'), c.req.header('sec-websocket-protocol'))
    let verdict: Awaited<ReturnType<Tokens['verify']>>
    try {
      verdict = await tokens.verify(token)
    } catch (cause) {
      throw new HttpError(503, 'unavailable', 'Cannot check the token now; retry', {
        headers: { 'Retry-After': '1' },
        cause,
      })
    }
    if (!verdict.valid) {
      const error = verdict.reason === 'missing' ? 'invalid_request' : 'invalid_token'
      throw new HttpError(
        401,
        `token_${verdict.reason}`,
        `A valid bearer token is required (${verdict.reason})`,
        {
          headers: { 'WWW-Authenticate': `Bearer realm="chat", error="${error}"` },
        }
      )
    }
    c.set('user', verdict.user)
    await next()
  }
}
