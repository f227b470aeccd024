import ipaddr from 'ipaddr.js'

/**
 * Decides which resolved addresses a server-side request may connect to. Only globally routable
 * unicast addresses pass (ipaddr.js `range() === 'unicast'`): loopback, private, link-local
 * (169.254.169.254, the cloud metadata address, is one), carrier-grade NAT (Alibaba's metadata
 * 100.100.100.200), unique-local (AWS's fd00:ec2::254), multicast, reserved, unspecified and
 * the v6 ranges that embed a v4 address (mapped, NAT64, 6to4, Teredo) are all refused. An
 * IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
 */
export type AddressPolicy = {
  /** Why the address is refused ('loopback', 'private', …), or null when it may be reached. */
  blockedReason(address: string): string | null
}

/**
 * A policy with an optional allowlist of CIDRs that pass even though they are not public (a
 * receiver on the loopback in development, a partner's private link). Keep it empty in
 * production.
 *
 * @example
 * ```ts
 * const policy = createAddressPolicy()
 * policy.blockedReason('10.0.0.1') // 'private'
 * policy.blockedReason('93.184.215.14') // null
 * createAddressPolicy({ allow: ['127.0.0.1/32'] }).blockedReason('127.0.0.1') // null
 * ```
 */
export function createAddressPolicy({
  allow = [],
}: { allow?: readonly string[] } = {}): AddressPolicy {
  const allowed = allow.map((cidr) => ipaddr.parseCIDR(cidr))
  return {
    blockedReason(address) {
      if (!ipaddr.isValid(address)) return 'not_an_address'
      let parsed = ipaddr.parse(address)
      if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
        parsed = (parsed as ipaddr.IPv6).toIPv4Address()
      }
      for (const [network, bits] of allowed) {
        if (network.kind() === parsed.kind() && parsed.match(network, bits)) return null
      }
      const range = parsed.range()
      return range === 'unicast' ? null : range
    },
  }
}
