import ipaddr from 'ipaddr.js'

/** Longest target accepted, before and after normalisation (Kutt caps at 2,040). */
export const MAX_TARGET_LENGTH = 2048

export type TargetPolicy = {
  /**
   * This shortener: host names (subdomains are refused too) and IP literals (compared as
   * addresses, whatever their spelling). A link to itself would loop.
   */
  ownHosts: readonly string[]
  /** Hosts refused as targets (other shorteners, known abuse), as `ownHosts` are matched. */
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

/**
 * Names that resolve to this machine without asking DNS: `localhost` and every name below it
 * (RFC 6761 §6.3), and the loopback aliases of common /etc/hosts files (Debian, Fedora).
 */
const LOOPBACK_NAMES = new Set([
  'localhost',
  'localhost.localdomain',
  'localhost6',
  'localhost6.localdomain6',
  'ip6-localhost',
  'ip6-loopback',
])

/**
 * A host as the URL parser left it (`URL.hostname`), in the one form this module compares:
 * lower case, no brackets around an IPv6 literal, no trailing dot of a fully qualified name.
 * The WHATWG parser has already decoded percent-escapes, mapped full-width and other Unicode
 * forms through IDNA, and turned every IPv4 spelling (`0x7f.1`, `2130706433`, `0177.0.0.1`)
 * into dotted decimal. Undefined for a name with an empty label (`a..b`, `localhost..`): no
 * resolver accepts one, and the parser does not refuse it.
 */
function canonicalHost(hostname: string): string | undefined {
  let host = hostname.toLowerCase()
  if (host.startsWith('[') && host.endsWith(']')) return host.slice(1, -1)
  if (host.endsWith('.')) host = host.slice(0, -1)
  if (host === '' || host.split('.').includes('')) return undefined
  return host
}

// The parser writes every IPv4 host as four decimal parts; a name never ends in a number.
const DOTTED_DECIMAL = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

/** The address a canonical host spells, or undefined for a name. */
function addressOf(host: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (DOTTED_DECIMAL.test(host)) return ipaddr.IPv4.parse(host)
  if (host.includes(':') && ipaddr.IPv6.isValid(host)) return ipaddr.IPv6.parse(host)
  return undefined
}

/**
 * The IPv4 address an IPv6 address carries and that a host may reach it by: IPv4-mapped
 * (`::ffff:127.0.0.1`), IPv4-compatible (`::127.0.0.1`, deprecated but still parsed), NAT64
 * (`64:ff9b::/96`, RFC 6052) and 6to4 (`2002:7f00:1::`, RFC 3056).
 */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = address.parts
  const v4 = (high: number, low: number) =>
    new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff])
  if (address.isIPv4MappedAddress()) return address.toIPv4Address()
  if (p.slice(0, 6).every((part) => part === 0)) return v4(p[6] ?? 0, p[7] ?? 0)
  if (address.range() === 'rfc6052') return v4(p[6] ?? 0, p[7] ?? 0)
  if (address.range() === '6to4') return v4(p[1] ?? 0, p[2] ?? 0)
  return undefined
}

/**
 * True for an address that means "this machine" to whoever follows the link: loopback
 * (127.0.0.0/8, ::1) or unspecified (0.0.0.0/8, ::), directly or carried in an IPv6 address.
 */
function isThisMachine(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (address.kind() === 'ipv6') {
    const range = address.range()
    if (range === 'loopback' || range === 'unspecified') return true
    const v4 = embeddedIPv4(address as ipaddr.IPv6)
    return v4 !== undefined && isThisMachine(v4)
  }
  const range = address.range()
  return range === 'loopback' || range === 'unspecified'
}

/** Same address, whatever the family it is written in (`::ffff:10.0.0.1` is `10.0.0.1`). */
function sameAddress(a: ipaddr.IPv4 | ipaddr.IPv6, b: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  const plain = (x: ipaddr.IPv4 | ipaddr.IPv6) =>
    x.kind() === 'ipv6' ? (embeddedIPv4(x as ipaddr.IPv6) ?? x) : x
  return plain(a).toNormalizedString() === plain(b).toNormalizedString()
}

function matchesName(host: string, listed: readonly string[]): boolean {
  return listed.some((entry) => host === entry || host.endsWith(`.${entry}`))
}

/** True when `host` is listed: a name or one below it, or an address however it is written. */
function isListed(host: string, listed: readonly string[]): boolean {
  const address = addressOf(host)
  if (address === undefined) return matchesName(host, listed)
  return listed.some((entry) => {
    const listedAddress = addressOf(entry)
    return listedAddress !== undefined && sameAddress(address, listedAddress)
  })
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
 * own host, this machine (`localhost`, loopback and unspecified addresses in any spelling the
 * URL parser accepts, IPv4-mapped included: two such links would redirect to each other),
 * denied hosts, and anything over 2,048 characters. Hosts are compared after the WHATWG parser
 * has normalised them, as addresses (ipaddr.js) when they are IP literals, never as raw text.
 *
 * @example
 * ```ts
 * checkTarget('HTTPS://Example.COM', { ownHosts: ['sho.rt'], denyHosts: [] })
 * // { ok: true, url: 'https://example.com/' }
 * checkTarget('http://0x7f.1/', { ownHosts: ['sho.rt'], denyHosts: [] })
 * // { ok: false, message: 'must not point at this machine (loopback or unspecified address)' }
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
  const host = canonicalHost(url.hostname)
  if (host === undefined) return { ok: false, message: 'must have a valid host' }
  if (isListed(host, ownHosts)) {
    return { ok: false, message: 'must not point at this shortener' }
  }
  const address = addressOf(host)
  if (address ? isThisMachine(address) : LOOPBACK_NAMES.has(host) || host.endsWith('.localhost')) {
    return {
      ok: false,
      message: 'must not point at this machine (loopback or unspecified address)',
    }
  }
  if (isListed(host, denyHosts)) return { ok: false, message: 'host is not allowed' }
  if (url.href.length > MAX_TARGET_LENGTH) {
    return { ok: false, message: `must be at most ${MAX_TARGET_LENGTH} characters once encoded` }
  }
  return { ok: true, url: url.href }
}

/**
 * The host of a base URL, in the form `checkTarget` compares (lower case, no trailing dot, no
 * brackets around IPv6), for `TargetPolicy.ownHosts`.
 *
 * @example
 * ```ts
 * hostOf('https://Sho.RT./') // 'sho.rt'
 * hostOf('http://[::1]:3000') // '::1'
 * ```
 */
export function hostOf(baseUrl: string): string {
  const hostname = new URL(baseUrl).hostname
  return canonicalHost(hostname) ?? hostname
}
