import { describe, expect, it } from 'vitest'
import { createAddressPolicy } from './address-policy.ts'

// Judged by the policy only: nothing here is ever connected to.
const BLOCKED: [string, string][] = [
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['0.0.0.0', 'unspecified'],
  ['::', 'unspecified'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.169.254', 'linkLocal'],
  ['fe80::1', 'linkLocal'],
  ['100.64.0.1', 'carrierGradeNat'],
  ['100.100.100.200', 'carrierGradeNat'],
  ['fc00::1', 'uniqueLocal'],
  ['fd00:ec2::254', 'uniqueLocal'],
  ['224.0.0.1', 'multicast'],
  ['ff02::1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:a00:1', 'private'],
  ['::ffff:a9fe:a9fe', 'linkLocal'],
  ['64:ff9b::7f00:1', 'rfc6052'],
  ['2002:7f00:1::', '6to4'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
]

describe('createAddressPolicy()', () => {
  const policy = createAddressPolicy()

  it.each(BLOCKED)('when the address is %s, refuses it as %s', (address, reason) => {
    expect(policy.blockedReason(address)).toBe(reason)
  })

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:808:808'])(
    'when the address %s is public unicast, allows it',
    (address) => {
      expect(policy.blockedReason(address)).toBeNull()
    }
  )

  it('when a CIDR is allowlisted, allows exactly that range', () => {
    const dev = createAddressPolicy({ allow: ['127.0.0.1/32', 'fd12::/16'] })

    expect(dev.blockedReason('127.0.0.1')).toBeNull()
    expect(dev.blockedReason('::ffff:127.0.0.1')).toBeNull()
    expect(dev.blockedReason('127.0.0.2')).toBe('loopback')
    expect(dev.blockedReason('fd12::9')).toBeNull()
    expect(dev.blockedReason('10.0.0.1')).toBe('private')
  })

  it('when given something that is not an address, refuses it', () => {
    expect(policy.blockedReason('localhost')).toBe('not_an_address')
  })
})
