import { ServerResponse } from 'node:http'
import type { IncomingMessage } from 'node:http'
import type { Context } from 'hono'

/** What @hono/node-server passes as `c.env`: Node's own request and response objects. */
type NodeBindings = { incoming?: unknown; outgoing?: unknown }

/** Node's request when @hono/node-server serves the app; undefined under `app.request()`. */
export function nodeRequest(c: Context): IncomingMessage | undefined {
  const incoming = (c.env as NodeBindings | undefined)?.incoming
  return incoming !== null && typeof incoming === 'object' && 'headers' in incoming
    ? (incoming as IncomingMessage)
    : undefined
}

/** Node's HTTP/1 response when @hono/node-server serves the app; undefined otherwise. */
export function nodeResponse(c: Context): ServerResponse | undefined {
  const outgoing = (c.env as NodeBindings | undefined)?.outgoing
  return outgoing instanceof ServerResponse ? outgoing : undefined
}

/**
 * A request header (name in lower case), read from the headers Node has already parsed when the
 * app is served by @hono/node-server. `c.req.header()` first builds a WHATWG `Headers` object of
 * every header the client sent, validating each: a cost per request that a hot path (a redirect,
 * a body-length check) does not need. Elsewhere (`app.request()` in tests) it is `c.req.header()`.
 * Repeated headers read as Node joins them (comma-separated, or the first for fields such as
 * User-Agent that cannot repeat).
 *
 * @example
 * ```ts
 * const userAgent = requestHeader(c, 'user-agent') ?? null
 * ```
 */
export function requestHeader(c: Context, name: Lowercase<string>): string | undefined {
  const incoming = nodeRequest(c)
  if (incoming === undefined) return c.req.header(name)
  const value = incoming.headers[name]
  // Only set-cookie is an array in Node, and a request does not carry it.
  return typeof value === 'string' ? value : value?.join(', ')
}
