import { createHmac } from 'node:crypto'
import type { Context } from 'hono'

export type CallerIdentityOptions = {
  /** Keys the hash of anonymous clients' addresses: no address is stored or guessable. */
  secret: string
  /** The client's address (the TCP peer, as the creation rate limit keys it). */
  clientIp: (c: Context) => string
}

/**
 * Who a create comes from, after `apiKeyAuth` set `authenticated`: `api-key` for the key holder
 * (one key, one owner), `client:<hash>` for an anonymous client, a keyed hash of its address
 * (HMAC-SHA256, 128 bits), so the database holds no address. Clients behind one NAT or proxy
 * share an address, hence an identity.
 *
 * @example
 * ```ts
 * const identify = createCallerIdentity({ secret: apiKey, clientIp })
 * links.create({ target, reuseKey: identify(c) }, { reuse: true })
 * ```
 */
export function createCallerIdentity({
  secret,
  clientIp,
}: CallerIdentityOptions): (c: Context) => string {
  return function callerIdentity(c) {
    if (c.get('authenticated') === true) return 'api-key'
    const digest = createHmac('sha256', secret)
      .update(`reuse:${clientIp(c)}`)
      .digest('base64url')
    return `client:${digest.slice(0, 22)}`
  }
}
