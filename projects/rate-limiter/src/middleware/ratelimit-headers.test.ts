import { describe, expect, it } from 'vitest'
import {
  HeaderSerializationError,
  legacyRateLimitHeaders,
  rateLimitMember,
  retryAfterSeconds,
  serializeRateLimit,
  serializeRateLimitPolicy,
  sfString,
  toDelaySeconds,
  toWindowSeconds,
} from './ratelimit-headers.ts'

// The expected strings are the draft-11 examples, byte for byte.
describe('serializeRateLimitPolicy', () => {
  it('when given two policies, writes the draft example "burst" and "daily" joined by ", "', () => {
    const policies = [
      { name: 'burst', quota: 100, windowSeconds: 60 },
      { name: 'daily', quota: 1000, windowSeconds: 86400 },
    ]

    const value = serializeRateLimitPolicy(policies)

    expect(value).toBe('"burst";q=100;w=60, "daily";q=1000;w=86400')
  })

  it('when the unit and a partition key are set, writes qu as a String and pk as a Byte Sequence', () => {
    const partitionKey = new Uint8Array(Buffer.from('trial121323'))

    const value = serializeRateLimitPolicy([
      {
        name: 'peruser',
        quota: 65535,
        quotaUnit: 'content-bytes',
        windowSeconds: 10,
        partitionKey,
      },
    ])

    expect(value).toBe('"peruser";q=65535;qu="content-bytes";w=10;pk=:dHJpYWwxMjEzMjM=:')
  })

  it('when the unit is requests (the default), leaves qu out', () => {
    const value = serializeRateLimitPolicy([
      { name: 'default', quota: 100, quotaUnit: 'requests', windowSeconds: 60 },
    ])

    expect(value).toBe('"default";q=100;w=60')
  })

  it('when the window is absent, leaves w out', () => {
    expect(serializeRateLimitPolicy([{ name: 'trial', quota: 5 }])).toBe('"trial";q=5')
  })

  it('when the window is 0, throws (w must be > 0)', () => {
    expect(() => serializeRateLimitPolicy([{ name: 'x', quota: 1, windowSeconds: 0 }])).toThrow(
      HeaderSerializationError
    )
  })

  it('when there is no policy, gives an empty string', () => {
    expect(serializeRateLimitPolicy([])).toBe('')
  })
})

describe('serializeRateLimit', () => {
  it('when given one policy, writes the draft example "default";r=50;t=30', () => {
    expect(serializeRateLimit([{ name: 'default', remaining: 50, resetSeconds: 30 }])).toBe(
      '"default";r=50;t=30'
    )
  })

  it('when given a partition key and no window, writes the draft example with pk', () => {
    const partitionKey = new Uint8Array(Buffer.from('trial121323'))

    const value = serializeRateLimit([{ name: 'default', remaining: 999, partitionKey }])

    expect(value).toBe('"default";r=999;pk=:dHJpYWwxMjEzMjM=:')
  })

  it('when remaining is fractional (a refilling bucket), floors it so r never overstates', () => {
    expect(serializeRateLimit([{ name: 'api', remaining: 41.7, resetSeconds: 17 }])).toBe(
      '"api";r=41;t=17'
    )
  })

  it('when remaining is negative, throws instead of sending an invalid r', () => {
    expect(() => serializeRateLimit([{ name: 'api', remaining: -1 }])).toThrow(
      HeaderSerializationError
    )
  })
})

describe('rateLimitMember', () => {
  it('when given the same items, writes what serializeRateLimit writes', () => {
    const items = [
      { name: 'default', remaining: 50, resetSeconds: 30 },
      { name: 'a"b\\c', remaining: 41.7, resetSeconds: 0 },
    ]

    const members = items.map((item) =>
      rateLimitMember(item.name)(item.remaining, item.resetSeconds)
    )

    expect(members.join(', ')).toBe(serializeRateLimit(items))
    expect(members[0]).toBe('"default";r=50;t=30')
  })

  it('when the name is not a String or remaining is negative, throws', () => {
    expect(() => rateLimitMember('café')).toThrow(HeaderSerializationError)
    expect(() => rateLimitMember('api')(-1, 1)).toThrow(HeaderSerializationError)
  })
})

describe('sfString', () => {
  it('when the name holds a quote or a backslash, escapes them (RFC 9651 § 4.1.6)', () => {
    expect(sfString('a"b\\c')).toBe('"a\\"b\\\\c"')
  })

  it('when the name holds non-ASCII or a control character, throws', () => {
    expect(() => sfString('café')).toThrow(HeaderSerializationError)
    expect(() => sfString('a\nb')).toThrow(HeaderSerializationError)
  })
})

describe('retryAfterSeconds', () => {
  it.each([
    [0, 1],
    [1, 1],
    [999, 1],
    [1000, 1],
    [1001, 2],
    [4200, 5],
  ])('when the wait is %i ms, answers %i s (rounded up, at least 1)', (ms, seconds) => {
    expect(retryAfterSeconds(ms)).toBe(seconds)
  })
})

describe('toDelaySeconds / toWindowSeconds', () => {
  it('when converting a wait, rounds up and never goes below 0', () => {
    expect(toDelaySeconds(16_001)).toBe(17)
    expect(toDelaySeconds(-5)).toBe(0)
  })

  it('when the window is not whole seconds, gives undefined rather than a rounded w', () => {
    expect(toWindowSeconds(60_000)).toBe(60)
    expect(toWindowSeconds(1500)).toBeUndefined()
    expect(toWindowSeconds(500)).toBeUndefined()
  })
})

describe('legacyRateLimitHeaders', () => {
  it('when asked, gives limit, remaining (never < 0) and the reset as epoch seconds', () => {
    const headers = legacyRateLimitHeaders({
      limit: 100,
      remaining: -3,
      resetMs: 1500,
      nowMs: 1_700_000_000_000,
    })

    expect(headers).toEqual({
      'X-RateLimit-Limit': '100',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '1700000002',
    })
  })
})
