import { isbot } from 'isbot'
import { LRUCache } from 'lru-cache'
import { UAParser } from 'ua-parser-js'

/** The breakdowns: stored per link and day, plus `bot` (humans versus bots, from minute rows). */
export const DIMENSIONS = ['referrer', 'browser', 'os', 'bot'] as const
export type Dimension = (typeof DIMENSIONS)[number]
/** The dimensions that have rows in `click_dimensions`. */
export const STORED_DIMENSIONS = [
  'referrer',
  'browser',
  'os',
] as const satisfies readonly Dimension[]
export type StoredDimension = (typeof STORED_DIMENSIONS)[number]

/** Value of the `referrer` dimension when the request carried no Referer header. */
export const DIRECT = '(direct)'
/** Value of a dimension the click did not reveal (no or unparsable User-Agent or Referer). */
export const UNKNOWN = '(unknown)'

/** A stored value is an attacker-controlled string: bound it (a DNS name is at most 253). */
const MAX_VALUE_LENGTH = 253

/** What a User-Agent tells the analytics: families, not versions, and the bot flag. */
export type UserAgentInfo = { browser: string; os: string; bot: boolean }

/** Classifies a User-Agent header (null when absent). */
export type UserAgentClassifier = (userAgent: string | null) => UserAgentInfo

/**
 * Parses a User-Agent into browser family, OS family and bot flag, uncached (tens of µs each).
 * No User-Agent, or a blank one, is a bot.
 * The bot flag comes from isbot, which knows more bots than ua-parser-js. ua-parser-js is pinned
 * to 1.x: 2.x is AGPL-3.0, a licence a kit meant to be copied into other apps cannot carry.
 */
export function parseUserAgent(userAgent: string | null): UserAgentInfo {
  // Every browser sends a User-Agent; a request without one (or with a blank one) comes from a
  // script, a library's default client or a privacy proxy stripping headers. It is counted as a
  // bot, so "humans" never grows from traffic that no person's browser sent. isbot says false
  // for an absent header: it only recognises agents that name themselves.
  if (!userAgent?.trim()) return { browser: UNKNOWN, os: UNKNOWN, bot: true }
  const parser = new UAParser(userAgent)
  const bot = isbot(userAgent)
  const browser = parser.getBrowser().name ?? (bot ? botName(userAgent) : undefined)
  return {
    browser: bounded(browser) ?? UNKNOWN,
    os: bounded(parser.getOS().name) ?? UNKNOWN,
    bot,
  }
}

/**
 * A bot's product name, for bots ua-parser-js 1.x does not name: the token after `compatible;`
 * (`Mozilla/5.0 (compatible; Googlebot/2.1; …)` → `Googlebot`), else the leading product token
 * (`curl/8.5.0` → `curl`).
 */
function botName(userAgent: string): string | undefined {
  const compatible = /compatible;\s*([\w.-]+)/i.exec(userAgent)
  return compatible?.[1] ?? /^([\w.-]+)/.exec(userAgent)?.[1]
}

/**
 * `parseUserAgent` behind an LRU cache keyed by the whole header: real traffic repeats a few
 * thousand User-Agent strings, so almost every click costs a map lookup instead of a parse.
 *
 * @example
 * ```ts
 * const classify = createUserAgentClassifier({ cacheSize: 2_000 })
 * classify('curl/8.5.0') // { browser: 'curl', os: '(unknown)', bot: true }
 * ```
 */
export function createUserAgentClassifier({
  cacheSize = 1_000,
  parse = parseUserAgent,
}: { cacheSize?: number; parse?: UserAgentClassifier } = {}): UserAgentClassifier {
  const cache = new LRUCache<string, UserAgentInfo>({ max: cacheSize })
  const absent = parse(null)
  return function classifyUserAgent(userAgent) {
    if (!userAgent) return absent
    let info = cache.get(userAgent)
    if (info === undefined) {
      info = parse(userAgent)
      cache.set(userAgent, info)
    }
    return info
  }
}

/**
 * The host of a Referer header, lower-cased: `DIRECT` when absent, `UNKNOWN` when unparsable.
 * Only the host is kept: paths and queries may carry personal data and explode cardinality.
 */
export function referrerHost(referrer: string | null): string {
  if (!referrer) return DIRECT
  if (!URL.canParse(referrer)) return UNKNOWN
  return bounded(new URL(referrer).hostname) ?? UNKNOWN
}

function bounded(value: string | undefined): string | undefined {
  if (!value) return undefined
  return value.length > MAX_VALUE_LENGTH ? value.slice(0, MAX_VALUE_LENGTH) : value
}
