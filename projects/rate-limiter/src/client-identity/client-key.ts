/**
 * Who is the client? The rate-limit key, derived so that a client cannot choose it.
 *
 * - By default the key is the socket's peer address: `X-Forwarded-For` is ignored, because
 *   anyone can send it (express-rate-limit#92, node-rate-limiter-flexible#31).
 * - Behind proxies, configure them as a hop count (the number of proxies in front of the app)
 *   or as CIDR ranges. The chain `X-Forwarded-For..., socket` is walked from the right, past the
 *   trusted proxies; the first address not trusted is the client. Entries to its left were
 *   written by the client and are never read.
 * - Ports are stripped (`1.2.3.4:567`, `[::1]:80`): with them, reopening a browser gave a new key
 *   (express-rate-limit#234). IPv4-mapped IPv6 (`::ffff:1.2.3.4`) becomes IPv4, and an IPv6
 *   address is masked to its prefix (/64 by default): one subscriber usually holds a whole /64,
 *   so a per-address key would let it rotate through 2^64 keys (ERR_ERL_KEY_GEN_IPV6).
 * - A verified API key or user id can replace the address (`identityKey`); it is hashed so no
 *   raw credential is ever written to Redis or to a log.
 *
 * @example
 * const resolveClientIp = createClientIpResolver({ trustProxy: 1 })
 * resolveClientIp('10.0.0.2', 'spoofed, 203.0.113.7') // '203.0.113.7'
 */
import { createHash, createHmac } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import ipaddr from 'ipaddr.js'

/** An address as bytes: 4 for IPv4 (IPv4-mapped IPv6 included), 16 for IPv6. */
export type Address = { kind: 'ipv4' | 'ipv6'; bytes: Uint8Array }

/**
 * Which proxies in front of the app are trusted to append to `X-Forwarded-For`:
 * - a hop count: the socket peer and the next `n - 1` entries from the right (0 = none);
 * - a list of CIDR ranges (`10.0.0.0/8`, `fd00::/8`), single addresses, or the named sets
 *   `loopback`, `linklocal`, `uniquelocal` (as Express's `trust proxy`).
 */
export type TrustProxy = number | readonly string[]

/** `X-Forwarded-For` as the request carries it (absent: null or undefined), or a reader of it. */
export type ForwardedFor = string | null | undefined | (() => string | null | undefined)

export type ClientIpOptions = {
  trustProxy?: TrustProxy
  /** IPv6 addresses are masked to this prefix length (0..128). */
  ipv6Prefix?: number
}

export class InvalidTrustProxyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}

type Range = { kind: Address['kind']; bytes: Uint8Array; bits: number }

// Express's named ranges (proxy-addr), so a config written for Express reads the same here.
const NAMED_RANGES: Record<string, readonly string[]> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
}

/**
 * Parses trusted-proxy entries (CIDR, single address or named set) once, at start-up, with
 * ipaddr.js; throws InvalidTrustProxyError naming the first bad entry.
 */
export function parseTrustedRanges(entries: readonly string[]): Range[] {
  return entries.flatMap((entry) => {
    const text = entry.trim()
    const named = NAMED_RANGES[text.toLowerCase()]
    if (named !== undefined) return named.map(toRange)
    if (ipaddr.isValidCIDR(text)) return [toRange(text)]
    const address = parseAddress(text)
    if (address === undefined) {
      throw new InvalidTrustProxyError(
        `"${entry}" is not an IP address, a CIDR range or a named set`
      )
    }
    return [{ ...address, bits: address.bytes.length * 8 }]
  })
}

function toRange(cidr: string): Range {
  const [address, bits] = ipaddr.parseCIDR(cidr)
  const bytes = Uint8Array.from(address.toByteArray())
  // A range written as ::ffff:10.0.0.0/104 must match the IPv4 addresses it stands for.
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return { kind: 'ipv4', bytes: bytes.subarray(12), bits: bits - 96 }
  }
  return { kind: address.kind(), bytes, bits }
}

function inRange(address: Address, range: Range): boolean {
  if (address.kind !== range.kind) return false
  const whole = range.bits >> 3
  for (let i = 0; i < whole; i++) if (address.bytes[i] !== range.bytes[i]) return false
  const rest = range.bits & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return ((address.bytes[whole] as number) & mask) === ((range.bytes[whole] as number) & mask)
}

/**
 * Resolves the client's address key from the socket peer and `X-Forwarded-For`.
 * Returns undefined when the socket address is unknown (e.g. a Unix socket).
 */
export function createClientIpResolver(options: ClientIpOptions = {}) {
  const { trustProxy = 0, ipv6Prefix = 64 } = options
  if (!Number.isInteger(ipv6Prefix) || ipv6Prefix < 0 || ipv6Prefix > 128) {
    throw new InvalidTrustProxyError(`ipv6Prefix must be an integer in 0..128, got ${ipv6Prefix}`)
  }
  if (typeof trustProxy === 'number' && (!Number.isInteger(trustProxy) || trustProxy < 0)) {
    throw new InvalidTrustProxyError(
      `a trusted hop count must be an integer >= 0, got ${trustProxy}`
    )
  }
  const ranges = typeof trustProxy === 'number' ? [] : parseTrustedRanges(trustProxy)
  const isTrusted =
    typeof trustProxy === 'number'
      ? (_: Address, hop: number) => hop < trustProxy
      : (address: Address) => ranges.some((range) => inRange(address, range))

  /**
   * @param forwardedFor the request's `X-Forwarded-For`, or a function that reads it: then it is
   * only read when the peer is a trusted proxy (with none trusted, the default, never).
   */
  return function resolveClientIp(
    remoteAddress: string | undefined,
    forwardedFor: ForwardedFor
  ): string | undefined {
    // The common cases, no proxy and an IPv4 peer (on a dual-stack socket: `::ffff:a.b.c.d`),
    // cost one native check.
    if (trustProxy === 0 && remoteAddress !== undefined) {
      if (isIPv4(remoteAddress)) return remoteAddress
      if (remoteAddress.startsWith('::ffff:') && isIPv4(remoteAddress.slice(7))) {
        return remoteAddress.slice(7)
      }
    }
    let client = remoteAddress === undefined ? undefined : parseAddress(remoteAddress)
    if (client === undefined) return undefined
    let chain: string[] | undefined
    for (let hop = 0; isTrusted(client, hop); hop++) {
      // Read on the first trusted hop only: a header is a lookup (and an allocation) per request.
      if (chain === undefined) {
        const header = typeof forwardedFor === 'function' ? forwardedFor() : forwardedFor
        chain = header ? header.split(',') : []
      }
      const entry = chain.pop()
      // The whole chain is trusted: the left-most address is the client (as Express).
      if (entry === undefined) break
      const next = parseAddress(entry)
      // An entry that is not an address cannot have been written by a trusted proxy. Stop at the
      // last address we trust rather than skip it: skipping would let a client choose its key.
      if (next === undefined) break
      client = next
    }
    return formatAddress(client, ipv6Prefix)
  }
}

/**
 * The rate-limit key of a verified identity (an API key found in your key store, the user id of
 * an authenticated session): `api-key:<hash>`. Never call it with an unverified header value: a
 * client could send a fresh value with every request and get a fresh quota each time.
 */
export function identityKey(kind: 'api-key' | 'user', value: string, secret?: string): string {
  return `${kind}:${hashIdentifier(value, secret)}`
}

/** SHA-256 (or HMAC-SHA-256 with a secret) of an identifier, base64url: 43 characters. */
export function hashIdentifier(value: string, secret?: string): string {
  const hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret)
  return hash.update(value).digest('base64url')
}

/**
 * One address as written by a socket or a proxy: IPv4 (dotted decimal only, as proxies write it;
 * `0x7f.1` and `01.2.3.4` are rejected), IPv6 with or without brackets and zone, either with a
 * port. IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is IPv4. Validation is Node's own (`net.isIP*`),
 * which is fast enough for every request; ipaddr.js is only used for configuration.
 */
export function parseAddress(entry: string): Address | undefined {
  let text = entry.trim()
  if (text.startsWith('[')) {
    const end = text.indexOf(']')
    if (end === -1) return undefined
    text = text.slice(1, end)
  } else if (text.indexOf(':') !== -1 && text.indexOf(':') === text.lastIndexOf(':')) {
    text = text.slice(0, text.indexOf(':')) // IPv4 with a port: exactly one colon
  }
  const zone = text.indexOf('%')
  if (zone !== -1) text = text.slice(0, zone)
  if (isIPv4(text)) return { kind: 'ipv4', bytes: ipv4Bytes(text) }
  if (!isIPv6(text)) return undefined
  const bytes = ipv6Bytes(text)
  const mapped =
    bytes[10] === 0xff && bytes[11] === 0xff && bytes.subarray(0, 10).every((b) => b === 0)
  return mapped ? { kind: 'ipv4', bytes: bytes.subarray(12) } : { kind: 'ipv6', bytes }
}

/**
 * The key of an address: IPv4 as dotted decimal, IPv6 masked to `ipv6Prefix` in RFC 5952 form
 * with the prefix length (`2001:db8:1:2::/64`); `/128` is left out.
 */
export function formatAddress(address: Address, ipv6Prefix = 128): string {
  if (address.kind === 'ipv4') return address.bytes.join('.')
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) {
    const keptBits = Math.min(16, Math.max(0, ipv6Prefix - i * 8))
    const value = ((address.bytes[i] as number) << 8) | (address.bytes[i + 1] as number)
    groups.push(value & ((0xffff << (16 - keptBits)) & 0xffff))
  }
  // RFC 5952 § 4.2: the longest run (first on a tie) of two or more zero groups becomes '::'.
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j === i ? i + 1 : j
  }
  const hex = groups.map((group) => group.toString(16))
  const text =
    bestStart === -1
      ? hex.join(':')
      : `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
  return ipv6Prefix === 128 ? text : `${text}/${ipv6Prefix}`
}

function ipv4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split('.'), Number)
}

/** 16 bytes of an IPv6 address that `net.isIPv6` accepted (so at most one '::'). */
function ipv6Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(16)
  let head = text
  let groupCount = 8
  const lastColon = text.lastIndexOf(':')
  if (text.indexOf('.', lastColon) !== -1) {
    // An embedded IPv4 tail (::ffff:1.2.3.4) fills the last 4 bytes.
    bytes.set(ipv4Bytes(text.slice(lastColon + 1)), 12)
    head = text.slice(0, text.endsWith('::', lastColon + 1) ? lastColon + 1 : lastColon)
    groupCount = 6
  }
  const [left = '', right] = head.split('::')
  const leftGroups = left === '' ? [] : left.split(':')
  const rightGroups = right === undefined || right === '' ? [] : right.split(':')
  const zeros = right === undefined ? 0 : groupCount - leftGroups.length - rightGroups.length
  const groups = [...leftGroups, ...Array<string>(zeros).fill('0'), ...rightGroups]
  groups.forEach((group, i) => {
    const value = Number.parseInt(group, 16)
    bytes[i * 2] = value >> 8
    bytes[i * 2 + 1] = value & 0xff
  })
  return bytes
}
