import { promises as dns, type LookupAddress, type LookupOneOptions } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import type { Duplex } from 'node:stream'
import { createAddressPolicy, type AddressPolicy } from './address-policy.ts'

/** Resolves a host name to every address it has (A and AAAA). Injected in tests. */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>

/** The operating system's resolver (getaddrinfo), every address, in its order. */
export const systemResolver: Resolver = (hostname) =>
  dns.lookup(hostname, { all: true, verbatim: true })

/** A connection or a URL was refused because of where it leads. `code` is ERR_SSRF_BLOCKED. */
export class SsrfBlockedError extends Error {
  readonly code = 'ERR_SSRF_BLOCKED'
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string
  ) {
    super(`${host} resolves to ${address} (${reason}), which requests may not reach`)
    this.name = this.constructor.name
  }
}

export type GuardOptions = { resolver?: Resolver; policy?: AddressPolicy }

/**
 * Resolves `host` and checks every address: one refused address refuses the host (a name with
 * one public and one private record must not be a coin toss). Answers the addresses to use.
 */
export async function resolveAllowed(
  host: string,
  { resolver = systemResolver, policy = createAddressPolicy() }: GuardOptions = {}
): Promise<LookupAddress[]> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  const addresses = isIP(bare) ? [{ address: bare, family: isIP(bare) }] : await resolver(bare)
  if (addresses.length === 0) throw new SsrfBlockedError(host, '(none)', 'unresolvable')
  for (const { address } of addresses) {
    const reason = policy.blockedReason(address)
    if (reason !== null) throw new SsrfBlockedError(host, address, reason)
  }
  return addresses
}

/**
 * The registration-time check of a URL: http(s) only, no credentials, and a host whose every
 * address is allowed now. It is not enough on its own (the name may resolve elsewhere at send
 * time: DNS rebinding); send through `createGuardedAgents` too.
 *
 * @example
 * ```ts
 * await checkUrl('https://hooks.example.com/in') // throws SsrfBlockedError or TypeError
 * ```
 */
export async function checkUrl(url: string, options: GuardOptions = {}): Promise<URL> {
  // The WHATWG parser turns every IPv4 spelling (0x7f.1, 2130706433, 0177.0.0.1) into dotted
  // decimal and compresses IPv6, so the policy always sees a canonical address.
  const parsed = new URL(url)
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError('only http and https URLs are allowed')
  }
  if (parsed.username || parsed.password) throw new TypeError('credentials in URLs are not allowed')
  await resolveAllowed(parsed.hostname, options)
  return parsed
}

/**
 * The connect-time check as a `lookup` for `net.connect`: the addresses checked are the ones the
 * socket connects to, so a name that resolved to a public address at registration and to a
 * private one now (rebinding) is refused here.
 */
export function guardedLookup(options: GuardOptions = {}): LookupFunction {
  return function lookup(hostname, lookupOptions, callback) {
    resolveAllowed(hostname, options).then(
      (addresses) => {
        const family = (lookupOptions as LookupOneOptions).family
        const usable = addresses.filter((a) => !family || a.family === family)
        if ((lookupOptions as { all?: boolean }).all) {
          callback(null, usable)
          return
        }
        const first = usable[0] ?? addresses[0]!
        callback(null, first.address, first.family)
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0)
    )
  }
}

type ConnectionCallback = (error: Error | null, socket?: Duplex) => void

/**
 * http and https agents whose every socket goes through the guard. Node skips `lookup` when the
 * host is an IP literal, so the agent checks literals itself before connecting. Pass them to
 * `http.request({ agent })`; never follow redirects with them off (a 3xx is a failure anyway).
 *
 * @example
 * ```ts
 * const agents = createGuardedAgents({ policy: createAddressPolicy() })
 * http.request(url, { agent: agents.http, method: 'POST' })
 * ```
 */
export function createGuardedAgents(options: GuardOptions & { keepAlive?: boolean } = {}): {
  http: http.Agent
  https: https.Agent
} {
  const lookup = guardedLookup(options)
  const policy = options.policy ?? createAddressPolicy()
  const guard = <A extends http.Agent>(agent: A): A => {
    const create = agent.createConnection.bind(agent) as (
      opts: Record<string, unknown>,
      cb: ConnectionCallback
    ) => Duplex | undefined
    agent.createConnection = (opts: Record<string, unknown>, callback: ConnectionCallback) => {
      const host = typeof opts.host === 'string' ? opts.host : 'localhost'
      const bare = host.startsWith('[') ? host.slice(1, -1) : host
      if (isIP(bare)) {
        const reason = policy.blockedReason(bare)
        if (reason !== null) {
          process.nextTick(callback, new SsrfBlockedError(host, bare, reason))
          return undefined
        }
      }
      return create({ ...opts, lookup }, callback)
    }
    return agent
  }
  const keepAlive = options.keepAlive ?? true
  return {
    http: guard(new http.Agent({ keepAlive })),
    https: guard(new https.Agent({ keepAlive })),
  }
}
