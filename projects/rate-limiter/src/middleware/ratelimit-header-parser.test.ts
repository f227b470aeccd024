import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseList, parseRateLimit, parseRateLimitPolicy } from './ratelimit-header-parser.ts'
import {
  serializeRateLimit,
  serializeRateLimitPolicy,
  type QuotaPolicyItem,
  type ServiceLimitItem,
} from './ratelimit-headers.ts'

describe('parseRateLimitPolicy', () => {
  it('when given the draft example with two policies, reads both', () => {
    const value = '"burst";q=100;w=60,"daily";q=1000;w=86400'

    const policies = parseRateLimitPolicy(value)

    expect(policies.map(({ params: _, ...policy }) => policy)).toEqual([
      { name: 'burst', quota: 100, quotaUnit: 'requests', windowSeconds: 60 },
      { name: 'daily', quota: 1000, quotaUnit: 'requests', windowSeconds: 86400 },
    ])
  })

  it('when given the draft example with qu and pk, reads the unit and the key bytes', () => {
    const value = '"peruser";q=65535;qu="content-bytes";w=10;pk=:sdfjLJUOUH==:'

    const [policy] = parseRateLimitPolicy(value)

    expect(policy).toMatchObject({ name: 'peruser', quota: 65535, quotaUnit: 'content-bytes' })
    expect(policy?.windowSeconds).toBe(10)
    expect(Buffer.from(policy?.partitionKey ?? []).toString('base64')).toBe('sdfjLJUOUA==')
  })

  it('when parameters come in another order with spaces after ";", reads the same policy', () => {
    // express-rate-limit's draft-8 output shape.
    const value = '"100-in-1min"; w=60; q=100; pk=:dHJpYWwxMjEzMjM=:'

    const [policy] = parseRateLimitPolicy(value)

    expect(policy).toMatchObject({ name: '100-in-1min', quota: 100, windowSeconds: 60 })
  })

  it('when a member lacks q or has a bad w, skips that member and keeps the others', () => {
    const value = '"no-quota";w=60, "zero-window";q=5;w=0, "ok";q=7, "decimal";q=1.0, tok;q=1'

    const policies = parseRateLimitPolicy(value)

    expect(policies.map((policy) => policy.name)).toEqual(['ok'])
  })

  it('when keeping an unknown vendor parameter, exposes it in params', () => {
    const [policy] = parseRateLimitPolicy('"api";q=10;w=1;acme-burst=20')

    expect(policy?.params['acme-burst']).toBe(20)
  })

  it.each([
    ['a trailing comma', '"api";q=10,'],
    ['an unterminated string', '"api;q=10'],
    ['an upper-case key', '"api";Q=10'],
    ['a bad escape', '"a\\x";q=1'],
    ['a 16-digit integer', '"api";q=1234567890123456'],
    ['garbage after a member', '"api";q=10 x'],
  ])('when the field has %s, ignores the whole field (malformed)', (_, value) => {
    expect(parseRateLimitPolicy(value)).toEqual([])
  })

  it('when the field is absent, gives an empty list', () => {
    expect(parseRateLimitPolicy(null)).toEqual([])
  })
})

describe('parseRateLimit', () => {
  it('when given the draft example "default";r=50;t=30, reads r and t', () => {
    const [limit] = parseRateLimit('"default";r=50;t=30')

    expect(limit).toMatchObject({ name: 'default', remaining: 50, resetSeconds: 30 })
  })

  it('when given the draft example with pk and no t, reads the key and leaves t undefined', () => {
    const [limit] = parseRateLimit('"default";r=999;pk=:dHJpYWwxMjEzMjM=:')

    expect(limit?.resetSeconds).toBeUndefined()
    expect(Buffer.from(limit?.partitionKey ?? []).toString()).toBe('trial121323')
  })

  it('when given several members over two field lines joined by ", ", reads each', () => {
    const value = ['"day";r=100;t=36000', '"hour";r=10;t=600'].join(', ')

    const limits = parseRateLimit(value)

    expect(limits.map((limit) => [limit.name, limit.remaining, limit.resetSeconds])).toEqual([
      ['day', 100, 36000],
      ['hour', 10, 600],
    ])
  })

  it('when r is negative or t is a string, skips the member', () => {
    expect(parseRateLimit('"a";r=-1, "b";r=1;t="5", "c";r=2;t=5')).toHaveLength(1)
  })
})

describe('parseList', () => {
  it('when given inner lists, booleans and tokens, parses them (RFC 9651 § 4.2.1)', () => {
    const members = parseList('("a" "b");x, ?1, tok/en;y=?0, -12.5')

    expect(members).toEqual([
      {
        items: [
          { value: 'a', params: {} },
          { value: 'b', params: {} },
        ],
        params: { x: true },
      },
      { value: true, params: {} },
      { value: { token: 'tok/en' }, params: { y: false } },
      { value: { decimal: -12.5 }, params: {} },
    ])
  })
})

// Names: any printable ASCII, including the characters that need escaping.
const policyName = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map(String.fromCharCode),
})
const integer = fc.integer({ min: 0, max: 999_999_999_999_999 })
const bytes = fc.uint8Array({ maxLength: 32 })

describe('round trip', () => {
  it('when any valid RateLimit-Policy is serialized, the parser reads it back unchanged', () => {
    const item = fc.record(
      {
        name: policyName,
        quota: integer,
        windowSeconds: fc.integer({ min: 1, max: 10_000_000 }),
        quotaUnit: fc.constantFrom('requests', 'content-bytes', 'concurrent-requests'),
        partitionKey: bytes,
      },
      { requiredKeys: ['name', 'quota'] }
    )

    fc.assert(
      fc.property(fc.array(item as fc.Arbitrary<QuotaPolicyItem>, { minLength: 1 }), (items) => {
        const parsed = parseRateLimitPolicy(serializeRateLimitPolicy(items))

        expect(parsed.map(({ params: _, ...policy }) => policy)).toEqual(
          items.map((expected) => ({
            name: expected.name,
            quota: expected.quota,
            quotaUnit: expected.quotaUnit ?? 'requests',
            ...(expected.windowSeconds !== undefined && { windowSeconds: expected.windowSeconds }),
            ...(expected.partitionKey !== undefined && {
              partitionKey: new Uint8Array(expected.partitionKey),
            }),
          }))
        )
      })
    )
  })

  it('when any valid RateLimit is serialized, the parser reads it back unchanged', () => {
    const item = fc.record(
      { name: policyName, remaining: integer, resetSeconds: integer },
      { requiredKeys: ['name', 'remaining'] }
    )

    fc.assert(
      fc.property(fc.array(item as fc.Arbitrary<ServiceLimitItem>, { minLength: 1 }), (items) => {
        const parsed = parseRateLimit(serializeRateLimit(items))

        expect(parsed.map(({ params: _, ...limit }) => limit)).toEqual(items)
      })
    )
  })
})
