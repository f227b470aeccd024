/** The `Origin` a browser sends, normalised: lower-case scheme and host, no default port. */
export function normalizeOrigin(value: string): string | undefined {
  // A browser serialises the origin in plain ASCII; escapes only come from someone crafting it.
  if (value.includes('%')) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  // An origin is scheme://host[:port] and nothing else (RFC 6454 § 7).
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) {
    return undefined
  }
  if (value.endsWith('/')) return undefined
  return url.origin
}

export type OriginVerdict =
  | { allowed: true; origin: string | undefined }
  | { allowed: false; reason: 'missing' | 'not_allowed' | 'malformed' }

export type OriginPolicy = { check(origin: string | undefined): OriginVerdict; allowed: string[] }

/**
 * An explicit allowlist of `Origin`s for WebSocket handshakes (OWASP WebSocket Security: no
 * wildcard, no substring match): cross-site WebSocket hijacking needs a victim's browser, and a
 * browser always sends Origin, so the header is compared exactly after normalising both sides
 * (`HTTPS://Chat.Example.com:443` equals `https://chat.example.com`). `null` (sandboxed frames,
 * file: pages) is refused. A request without Origin is not a browser's: `allowMissing` says
 * whether such clients (servers, CLIs, the load generator) may connect; they still need a token.
 *
 * @example
 * ```ts
 * const origins = createOriginPolicy({ allowed: ['https://chat.example.com'], allowMissing: true })
 * if (!origins.check(req.headers.origin).allowed) return reject(403)
 * ```
 */
export function createOriginPolicy({
  allowed,
  allowMissing,
}: {
  allowed: readonly string[]
  allowMissing: boolean
}): OriginPolicy {
  const origins = new Set(
    allowed.map((entry) => {
      const origin = normalizeOrigin(entry)
      if (origin === undefined)
        throw new RangeError(`not an origin (scheme://host[:port]): ${entry}`)
      return origin
    })
  )
  return {
    allowed: [...origins],
    check(value) {
      if (value === undefined || value === '') {
        return allowMissing
          ? { allowed: true, origin: undefined }
          : { allowed: false, reason: 'missing' }
      }
      const origin = normalizeOrigin(value)
      if (origin === undefined) return { allowed: false, reason: 'malformed' }
      return origins.has(origin)
        ? { allowed: true, origin }
        : { allowed: false, reason: 'not_allowed' }
    },
  }
}
