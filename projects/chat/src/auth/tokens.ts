import type { Cluster, Redis } from 'ioredis'
import { sign, verify } from 'hono/jwt'

/** A signed, expiring bearer token: HS256 JWT `{ sub, iat, exp, iat_ms }`. */
export type IssuedToken = { token: string; user: string; expiresAt: number }

export type TokenVerdict =
  | { valid: true; user: string; expiresAt: number }
  | { valid: false; reason: 'missing' | 'invalid' | 'expired' | 'revoked' }

/** Where logouts are remembered: tokens issued before this instant are refused. */
export type RevocationStore = {
  revokeBefore(user: string, atMs: number, forMs: number): Promise<void>
  revokedBefore(user: string): Promise<number>
}

export function memoryRevocations(now: () => number = Date.now): RevocationStore {
  const until = new Map<string, { at: number; expires: number }>()
  return {
    revokeBefore(user, at, forMs) {
      until.set(user, { at, expires: now() + forMs })
      return Promise.resolve()
    },
    revokedBefore(user) {
      const entry = until.get(user)
      if (!entry || entry.expires <= now()) {
        until.delete(user)
        return Promise.resolve(0)
      }
      return Promise.resolve(entry.at)
    },
  }
}

/** Logouts shared by every instance; each key lives as long as a token could. */
export function redisRevocations(redis: Redis | Cluster, prefix: string): RevocationStore {
  const key = (user: string) => `${prefix}user:${user}:revoked-before`
  return {
    async revokeBefore(user, at, forMs) {
      await redis.set(key(user), String(at), 'PX', forMs)
    },
    async revokedBefore(user) {
      return Number((await redis.get(key(user))) ?? 0)
    },
  }
}

/**
 * Issues and checks the bearer tokens the WebSocket handshake and the HTTP routes require
 * (hono/jwt, HS256). A logout revokes every token of the user issued until then: the check
 * compares the token's issue time (ms) with the user's last logout.
 *
 * @example
 * ```ts
 * const tokens = createTokens({ secret, ttlSeconds: 3600, revocations: memoryRevocations() })
 * const { token } = await tokens.issue('ada')
 * const verdict = await tokens.verify(token) // { valid: true, user: 'ada', expiresAt }
 * ```
 */
export function createTokens({
  secret,
  ttlSeconds,
  revocations,
  now = Date.now,
}: {
  secret: string
  ttlSeconds: number
  revocations: RevocationStore
  now?: () => number
}) {
  return {
    ttlSeconds,
    async issue(user: string): Promise<IssuedToken> {
      const issuedMs = now()
      const exp = Math.floor(issuedMs / 1000) + ttlSeconds
      const token = await sign(
        { sub: user, iat: Math.floor(issuedMs / 1000), exp, iat_ms: issuedMs },
        secret,
        'HS256'
      )
      return { token, user, expiresAt: exp * 1000 }
    },

    async verify(token: string | undefined): Promise<TokenVerdict> {
      if (!token) return { valid: false, reason: 'missing' }
      let payload: Record<string, unknown>
      try {
        payload = await verify(token, secret, 'HS256')
      } catch (error) {
        const expired = error instanceof Error && error.name === 'JwtTokenExpired'
        return { valid: false, reason: expired ? 'expired' : 'invalid' }
      }
      const { sub, exp, iat_ms: issuedMs } = payload
      if (typeof sub !== 'string' || typeof exp !== 'number' || typeof issuedMs !== 'number') {
        return { valid: false, reason: 'invalid' }
      }
      if (issuedMs <= (await revocations.revokedBefore(sub)))
        return { valid: false, reason: 'revoked' }
      return { valid: true, user: sub, expiresAt: exp * 1000 }
    },

    /** Refuses every token of `user` issued until now (logout everywhere). */
    async revokeAll(user: string): Promise<void> {
      await revocations.revokeBefore(user, now(), ttlSeconds * 1000)
    },
  }
}

export type Tokens = ReturnType<typeof createTokens>
