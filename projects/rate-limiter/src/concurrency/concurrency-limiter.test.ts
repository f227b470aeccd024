import { describe, expect, it } from 'vitest'
import {
  InvalidConcurrencyLimitError,
  createMemoryConcurrencyLimiter,
} from './concurrency-limiter.ts'

// The Redis backend is tested against a real redis-server in test/concurrency-limiter.test.ts.
describe('createMemoryConcurrencyLimiter', () => {
  it('when the limit is reached, refuses until a slot is released', async () => {
    const limiter = createMemoryConcurrencyLimiter({ limit: 2 })
    const first = await limiter.acquire('k')
    await limiter.acquire('k')

    const refused = await limiter.acquire('k')
    if (first.acquired) await first.release()
    const afterRelease = await limiter.acquire('k')

    expect(refused).toEqual({ acquired: false, limit: 2, inFlight: 2 })
    expect(afterRelease).toMatchObject({ acquired: true, inFlight: 2 })
  })

  it('when a holder never releases, reclaims its slot after the lease', async () => {
    let now = 0
    const limiter = createMemoryConcurrencyLimiter({ limit: 1, leaseMs: 1000, clock: () => now })
    await limiter.acquire('k')

    now = 999
    const beforeExpiry = await limiter.acquire('k')
    now = 1000
    const afterExpiry = await limiter.acquire('k')

    expect(beforeExpiry.acquired).toBe(false)
    expect(afterExpiry.acquired).toBe(true)
  })

  it('when every lease of a key is released, forgets the key', async () => {
    const limiter = createMemoryConcurrencyLimiter({ limit: 3 })
    const leases = await Promise.all([limiter.acquire('a'), limiter.acquire('b')])

    for (const lease of leases) if (lease.acquired) await lease.release()

    expect(limiter.size).toBe(0)
  })

  it('when keys differ, counts them apart', async () => {
    const limiter = createMemoryConcurrencyLimiter({ limit: 1 })

    const [a, b] = await Promise.all([limiter.acquire('a'), limiter.acquire('b')])

    expect([a.acquired, b.acquired]).toEqual([true, true])
  })

  it('when the limit is not a positive integer, throws', () => {
    expect(() => createMemoryConcurrencyLimiter({ limit: 0 })).toThrow(InvalidConcurrencyLimitError)
  })
})
