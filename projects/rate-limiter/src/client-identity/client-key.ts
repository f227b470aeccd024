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
import ipaddr from 'ipaddr.js'

type Address = ipaddr.IPv4 | ipaddr.IPv6

/**
 * Which proxies in front of the app are trusted to append to `X-Forwarded-For`:
 * - a hop count: the socket peer and the next `n - 1` entries from the right (0 = none);
 * - a list of CIDR ranges (`10.0.0.0/8`, `fd00::/8`), single addresses, or the named sets
 *   `loopback`, `linklocal`, `uniquelocal` (as Express's `trust proxy`).
 */
export type TrustProxy = number | readonly string[]

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

// Express's named ranges (proxy-addr), so a config written for Express reads the same here.
const NAMED_RANGES: Record<string, readonly string[]> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
}

/** Parses one trusted-proxy entry (CIDR, single address or named set); throws if invalid. */
export function parseTrustedRanges(entries: readonly string[]): Array<[Address, number]> {
  return entries.flatMap((entry) => {
    const named = NAMED_RANGES[entry.trim().toLowerCase()]
    if (named !== undefined) return named.map((cidr) => ipaddr.parseCIDR(cidr))
    const text = entry.trim()
    if (ipaddr.isValidCIDR(text)) {
      const [address, bits] = ipaddr.parseCIDR(text)
      // A range written as ::ffff:10.0.0.0/104 must match the IPv4 addresses it stands for.
      if (
        address.kind() === 'ipv6' &&
        (address as ipaddr.IPv6).isIPv4MappedAddress() &&
        bits >= 96
      ) {
        return [[(address as ipaddr.IPv6).toIPv4Address(), bits - 96] as [Address, number]]
      }
      return [[address, bits] as [Address, number]]
    }
    const address = parseAddress(text)
    if (address === undefined) {
      throw new InvalidTrustProxyError(
        `"${entry}" is not an IP address, a CIDR range or a named set`
      )
    }
    return [[address, address.kind() === 'ipv4' ? 32 : 128] as [Address, number]]
  })
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
      : (address: Address) =>
          ranges.some(
            ([range, bits]) => range.kind() === address.kind() && address.match(range, bits)
          )

  return function resolveClientIp(
    remoteAddress: string | undefined,
    forwardedFor: string | null | undefined
  ): string | undefined {
    let client = remoteAddress === undefined ? undefined : parseAddress(remoteAddress)
    if (client === undefined) return undefined
    const chain = forwardedFor ? forwardedFor.split(',') : []
    for (let hop = 0; isTrusted(client, hop); hop++) {
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
 * One address as written by a socket or a proxy: IPv4 (four-part decimal only, as proxies write
 * it; `0x7f.1` is rejected), IPv6 with or without brackets and zone, either with a port.
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
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text)
  if (!ipaddr.IPv6.isValid(text)) return undefined
  const address = ipaddr.IPv6.parse(text)
  return address.isIPv4MappedAddress() ? address.toIPv4Address() : address
}

function formatAddress(address: Address, ipv6Prefix: number): string {
  if (address.kind() === 'ipv4') return address.toString()
  const bytes = address.toByteArray().map((byte, index) => {
    const keptBits = Math.min(8, Math.max(0, ipv6Prefix - index * 8))
    return byte & (0xff << (8 - keptBits))
  })
  return `${ipaddr.fromByteArray(bytes).toString()}/${ipv6Prefix}`
}
