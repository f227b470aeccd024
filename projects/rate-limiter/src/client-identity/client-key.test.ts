import { describe, expect, it, vi } from 'vitest'
import {
  InvalidTrustProxyError,
  createClientIpResolver,
  formatAddress,
  hashIdentifier,
  identityKey,
  parseAddress,
} from './client-key.ts'

describe('createClientIpResolver', () => {
  describe('when no proxy is trusted (the default)', () => {
    const resolve = createClientIpResolver()

    it('when X-Forwarded-For is sent, ignores it and uses the socket address', () => {
      expect(resolve('198.51.100.9', '1.2.3.4, 5.6.7.8')).toBe('198.51.100.9')
    })

    it('when the socket address is IPv4-mapped IPv6, gives the IPv4 address', () => {
      expect(resolve('::ffff:198.51.100.9', null)).toBe('198.51.100.9')
    })

    it('when the socket address is IPv6, masks it to /64', () => {
      expect(resolve('2001:db8:1:2:aaaa:bbbb:cccc:dddd', null)).toBe('2001:db8:1:2::/64')
    })

    it('when given a reader of X-Forwarded-For, never calls it (IPv4 and IPv6 peers)', () => {
      const header = vi.fn(() => '1.2.3.4')
      expect(resolve('198.51.100.9', header)).toBe('198.51.100.9')
      expect(resolve('2001:db8:1:2:aaaa:bbbb:cccc:dddd', header)).toBe('2001:db8:1:2::/64')
      expect(header).not.toHaveBeenCalled()
    })

    it('when the socket address is unknown or invalid, gives undefined', () => {
      expect(resolve(undefined, '1.2.3.4')).toBeUndefined()
      expect(resolve('not-an-ip', '1.2.3.4')).toBeUndefined()
    })
  })

  describe('when one hop is trusted', () => {
    const resolve = createClientIpResolver({ trustProxy: 1 })

    it('when the client prepends spoofed entries, uses only the right-most one', () => {
      expect(resolve('10.0.0.2', 'spoofed, 6.6.6.6, 203.0.113.7')).toBe('203.0.113.7')
    })

    it('when the right-most entry carries a port, strips it', () => {
      expect(resolve('10.0.0.2', '203.0.113.7:5678')).toBe('203.0.113.7')
      expect(resolve('10.0.0.2', '[2001:db8::1]:443')).toBe('2001:db8::/64')
    })

    it('when given a reader of X-Forwarded-For, reads it once and resolves as from the value', () => {
      const header = vi.fn(() => 'spoofed, 203.0.113.7')
      expect(resolve('10.0.0.2', header)).toBe('203.0.113.7')
      expect(header).toHaveBeenCalledTimes(1)
    })

    it('when there is no X-Forwarded-For, falls back to the socket address', () => {
      expect(resolve('10.0.0.2', undefined)).toBe('10.0.0.2')
    })

    it('when the right-most entry is garbage, stops at the proxy rather than skipping it', () => {
      expect(resolve('10.0.0.2', '203.0.113.7, garbage')).toBe('10.0.0.2')
    })
  })

  describe('when proxies are trusted by CIDR', () => {
    const resolve = createClientIpResolver({ trustProxy: ['10.0.0.0/8', 'fd00::/8'] })

    it('when the chain passes two trusted proxies, gives the first untrusted address from the right', () => {
      expect(resolve('10.0.0.2', '9.9.9.9, 203.0.113.7, 10.1.1.1')).toBe('203.0.113.7')
    })

    it('when the socket peer is not trusted, ignores X-Forwarded-For', () => {
      expect(resolve('198.51.100.9', '203.0.113.7')).toBe('198.51.100.9')
    })

    it('when every address is trusted, gives the left-most one', () => {
      expect(resolve('10.0.0.2', '10.9.9.9, 10.1.1.1')).toBe('10.9.9.9')
    })

    it('when the peer is an IPv4-mapped trusted proxy, still trusts it', () => {
      expect(resolve('::ffff:10.0.0.2', '203.0.113.7')).toBe('203.0.113.7')
    })
  })

  it('when given a named set, trusts its ranges', () => {
    const resolve = createClientIpResolver({ trustProxy: ['loopback'] })

    expect(resolve('127.0.0.1', '203.0.113.7')).toBe('203.0.113.7')
    expect(resolve('::1', '203.0.113.8')).toBe('203.0.113.8')
  })

  it('when the IPv6 prefix is /56, masks to /56', () => {
    const resolve = createClientIpResolver({ ipv6Prefix: 56 })

    expect(resolve('2001:db8:1:2ff:1::1', null)).toBe('2001:db8:1:200::/56')
  })

  it('when the configuration is invalid, throws naming the entry', () => {
    expect(() => createClientIpResolver({ trustProxy: ['10.0.0.0/99'] })).toThrow(
      InvalidTrustProxyError
    )
    expect(() => createClientIpResolver({ trustProxy: -1 })).toThrow(/hop count/)
    expect(() => createClientIpResolver({ ipv6Prefix: 129 })).toThrow(/ipv6Prefix/)
  })
})

describe('parseAddress + formatAddress', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    [' 1.2.3.4:567 ', '1.2.3.4'],
    ['[::1]:80', '::1'],
    ['[::1]', '::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:1.2.3.4', '1.2.3.4'],
    ['::', '::'],
    ['fe80::', 'fe80::'],
    ['2001:DB8:0:0:0:0:0:A', '2001:db8::a'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['::1.2.3.4', '::102:304'],
  ])('when given %j, reads %s', (entry, expected) => {
    const address = parseAddress(entry)

    expect(address && formatAddress(address)).toBe(expected)
  })

  it.each([
    '',
    'unknown',
    '0x7f.1',
    '1.2.3',
    '01.2.3.4',
    '999.1.1.1',
    '[::1',
    'a.b.c.d:80',
    '1::2::3',
  ])('when given %j, gives undefined', (entry) => {
    expect(parseAddress(entry)).toBeUndefined()
  })

  it('when masking, keeps only the prefix bits and writes the prefix length', () => {
    const address = parseAddress('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')

    expect(address && formatAddress(address, 64)).toBe('2001:db8:ffff:ffff::/64')
    expect(address && formatAddress(address, 52)).toBe('2001:db8:ffff:f000::/52')
    expect(address && formatAddress(address, 0)).toBe('::/0')
  })
})

describe('identityKey', () => {
  it('when given an API key, keys by its hash and never by its raw value', () => {
    const key = identityKey('api-key', 'sk_live_1')

    expect(key).toBe(`api-key:${hashIdentifier('sk_live_1')}`)
    expect(key).not.toContain('sk_live_1')
  })
})

describe('hashIdentifier', () => {
  it('when given a secret, gives an HMAC different from the plain hash', () => {
    expect(hashIdentifier('k', 's')).not.toBe(hashIdentifier('k'))
    expect(hashIdentifier('k')).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
})
