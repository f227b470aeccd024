import { describe, expect, it } from 'vitest'
import {
  createUserAgentClassifier,
  DIRECT,
  parseUserAgent,
  referrerHost,
  UNKNOWN,
} from './click-dimensions.ts'

/** Real User-Agent strings, one per family the breakdowns are tested with. */
const USER_AGENTS = {
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  safariIos:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  curl: 'curl/8.5.0',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
} as const

describe('parseUserAgent', () => {
  it.each([
    ['chromeWindows', { browser: 'Chrome', os: 'Windows', bot: false }],
    ['safariIos', { browser: 'Mobile Safari', os: 'iOS', bot: false }],
    ['firefoxLinux', { browser: 'Firefox', os: 'Linux', bot: false }],
    ['curl', { browser: 'curl', os: UNKNOWN, bot: true }],
    ['googlebot', { browser: 'Googlebot', os: UNKNOWN, bot: true }],
  ] as const)('when the agent is %s, gives %o', (name, expected) => {
    const info = parseUserAgent(USER_AGENTS[name])

    expect(info).toEqual(expected)
  })

  it('when there is no User-Agent or an empty one, counts a bot with unknown families', () => {
    for (const absent of [null, '', '   ']) {
      expect(parseUserAgent(absent)).toEqual({ browser: UNKNOWN, os: UNKNOWN, bot: true })
    }
  })
})

describe('createUserAgentClassifier', () => {
  it('when an agent repeats, parses it once', () => {
    let parses = 0
    const classify = createUserAgentClassifier({
      parse: (ua) => {
        parses++
        return parseUserAgent(ua)
      },
    })

    const first = classify(USER_AGENTS.firefoxLinux)
    const second = classify(USER_AGENTS.firefoxLinux)

    expect(second).toBe(first)
    expect(parses).toBe(2) // one for the shared "absent" answer, one for Firefox
  })

  it('when more agents than the cache holds arrive, evicts the least recently used', () => {
    const parsed: (string | null)[] = []
    const classify = createUserAgentClassifier({
      cacheSize: 2,
      parse: (ua) => {
        parsed.push(ua)
        return parseUserAgent(ua)
      },
    })

    classify('a/1')
    classify('b/1')
    classify('a/1')
    classify('c/1') // evicts b
    classify('b/1')

    expect(parsed).toEqual([null, 'a/1', 'b/1', 'c/1', 'b/1'])
  })
})

describe('referrerHost', () => {
  it.each([
    [null, DIRECT],
    ['', DIRECT],
    ['https://WWW.Example.com:8443/path?q=secret#x', 'www.example.com'],
    ['android-app://com.google.android.gm/', 'com.google.android.gm'],
    ['not a url', UNKNOWN],
    [`https://${'a'.repeat(300)}.com/`, 'a'.repeat(253)],
  ])('when the Referer is %j, gives %j', (referrer, expected) => {
    expect(referrerHost(referrer)).toBe(expected)
  })
})
