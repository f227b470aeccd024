/** Longest target accepted, before and after normalisation (U10; Kutt caps at 2,040). */
export const MAX_TARGET_LENGTH = 2048

export type TargetPolicy = {
  /** Hosts of this shortener: a link to itself would loop. Subdomains are refused too. */
  ownHosts: readonly string[]
  /** Hosts refused as targets (other shorteners, known abuse). Subdomains are refused too. */
  denyHosts: readonly string[]
}

export type TargetCheck = { ok: true; url: string } | { ok: false; message: string }

// Control (Cc), format (Cf: zero-width and bidi overrides) and separator (Z) characters. The URL
// parser silently strips tabs and newlines ("java\tscript:" parses as "javascript:"), so they are
// refused on the raw input, before parsing.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Z}\s]/u
// Absolute http(s) with a non-empty authority. Checked on the raw text because the parser is
// forgiving: it reads "http:evil.example", "http:/evil.example", "http:\\evil.example" and even
// "http:///evil.example" as http://evil.example/.
const ABSOLUTE_HTTP = /^https?:\/\/(?=[^/?#])/i

function normaliseHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '')
}

function matchesHost(host: string, listed: readonly string[]): boolean {
  return listed.some((entry) => host === entry || host.endsWith(`.${entry}`))
}

/**
 * Decides whether `raw` may become a redirect target, and returns its normalised form
 * (WHATWG `href`: lower-case scheme and host, punycode hosts, percent-encoded path) — the exact
 * bytes later sent in `Location`.
 *
 * Only http and https pass (OWASP unvalidated redirects: allowlist). Refused: every other scheme
 * (`javascript:`, `data:`, ... in any case), whitespace and control characters anywhere,
 * scheme-relative (`//host`) and relative URLs, backslashes, credentials
 * (`https://bank.example@evil.example` hides the real host from the reader), this shortener's
 * own host, denied hosts, and anything over 2,048 characters.
 *
 * @example
 * ```ts
 * checkTarget('HTTPS://Example.COM', { ownHosts: ['sho.rt'], denyHosts: [] })
 * // { ok: true, url: 'https://example.com/' }
 * ```
 */
export function checkTarget(raw: string, { ownHosts, denyHosts }: TargetPolicy): TargetCheck {
  if (raw.length > MAX_TARGET_LENGTH) {
    return { ok: false, message: `must be at most ${MAX_TARGET_LENGTH} characters` }
  }
  if (INVISIBLE.test(raw)) {
    return { ok: false, message: 'must not contain whitespace or control characters' }
  }
  if (!ABSOLUTE_HTTP.test(raw)) {
    return { ok: false, message: 'must be an absolute URL starting with http:// or https://' }
  }
  if (raw.includes('\\')) return { ok: false, message: 'must not contain backslashes' }
  // The parser drops an empty "user:@", so look for the "@" in the raw authority.
  const authority = raw.slice(raw.indexOf('//') + 2).split(/[/?#]/, 1)[0] ?? ''
  if (authority.includes('@')) return { ok: false, message: 'must not contain credentials' }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, message: 'is not a valid URL' }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, message: 'must use http or https' }
  }
  const host = normaliseHost(url.hostname)
  if (host === '') return { ok: false, message: 'must have a host' }
  if (matchesHost(host, ownHosts)) {
    return { ok: false, message: 'must not point at this shortener' }
  }
  if (matchesHost(host, denyHosts)) return { ok: false, message: 'host is not allowed' }
  if (url.href.length > MAX_TARGET_LENGTH) {
    return { ok: false, message: `must be at most ${MAX_TARGET_LENGTH} characters once encoded` }
  }
  return { ok: true, url: url.href }
}

/** The host part of a base URL, normalised as `checkTarget` compares hosts. */
export function hostOf(baseUrl: string): string {
  return normaliseHost(new URL(baseUrl).hostname)
}
