import { describe, expect, it } from 'vitest'
import { InvalidRequestError, StoreUnavailableError } from './errors.ts'
import { createMemoryLimiter } from './memory-limiter.ts'
import { createResilientLimiter } from './resilient-limiter.ts'
import type { Decision, Limiter, LimiterEvent, Policy } from './types.ts'

const policy: Policy = { name: 'api', algorithm: 'fixed-window', limit: 2, windowMs: 1000 }

/** A store that answers like a memory limiter until `down` is set, then fails or hangs. */
function flakyStore(clock: { now: number }) {
  const inner = createMemoryLimiter(policy, { clock: () => clock.now, sweepIntervalMs: 0 })
  const state = { down: false as false | 'error' | 'hang', calls: 0 }
  const gate = <T>(operation: () => Promise<T>): Promise<T> => {
    state.calls++
    if (state.down === 'error')
      return Promise.reject(new StoreUnavailableError('connection refused'))
    if (state.down === 'hang') return new Promise<T>(() => undefined)
    return operation()
  }
  const store: Limiter = {
    policy,
    consume: (key, cost) => gate(() => inner.consume(key, cost)),
    refund: (key, cost) => gate(() => inner.refund(key, cost)),
    reset: (key) => gate(() => inner.reset(key)),
  }
  return { store, state }
}

function setup(onStoreFailure: 'fail-open' | 'fail-closed' | 'insurance', timeoutMs = 50) {
  const clock = { now: 1_700_000_000_000 }
  const { store, state } = flakyStore(clock)
  const events: LimiterEvent[] = []
  const limiter = createResilientLimiter(store, {
    onStoreFailure,
    timeoutMs,
    clock: () => clock.now,
    insurance: createMemoryLimiter(policy, { clock: () => clock.now, sweepIntervalMs: 0 }),
    onEvent: (e) => events.push(e),
  })
  return { clock, limiter, state, events }
}

describe('createResilientLimiter', () => {
  it('when the store answers, passes its decisions through with source "store" and one event each', async () => {
    const { limiter, events } = setup('fail-closed')

    const decisions = [
      await limiter.consume('k'),
      await limiter.consume('k'),
      await limiter.consume('k'),
    ]

    expect(decisions.map((d) => [d.allowed, d.source])).toEqual([
      [true, 'store'],
      [true, 'store'],
      [false, 'store'],
    ])
    expect(events.map((e) => e.type)).toEqual(['allowed', 'allowed', 'limited'])
  })

  it('when a key was denied, answers from the block cache until its retry time, without asking the store', async () => {
    const { clock, limiter, state, events } = setup('fail-closed')
    for (let i = 0; i < 3; i++) await limiter.consume('k')
    const callsBefore = state.calls

    const cached = await limiter.consume('k')
    clock.now += cached.retryAfterMs
    const afterRetry = await limiter.consume('k')

    expect(cached).toMatchObject({ allowed: false, source: 'block-cache', remaining: 0 })
    expect(cached.retryAfterMs).toBeGreaterThan(0)
    expect(state.calls).toBe(callsBefore + 1)
    expect(afterRetry).toMatchObject({ allowed: true, source: 'store' })
    expect(events.filter((e) => e.type === 'block-cache-hit')).toHaveLength(1)
  })

  it('when the store fails in fail-open mode, admits and reports the failure', async () => {
    const { limiter, state, events } = setup('fail-open')
    state.down = 'error'

    const decision = await limiter.consume('k')

    expect(decision).toMatchObject({ allowed: true, source: 'fail-open' })
    expect(events.map((e) => e.type)).toEqual(['store-failure', 'allowed'])
  })

  it('when the store fails in fail-closed mode, throws StoreUnavailableError', async () => {
    const { limiter, state } = setup('fail-closed')
    state.down = 'error'

    await expect(limiter.consume('k')).rejects.toBeInstanceOf(StoreUnavailableError)
  })

  it('when the store hangs, gives up after timeoutMs and applies the policy', async () => {
    const { limiter, state } = setup('fail-closed', 30)
    state.down = 'hang'
    const started = performance.now()

    const attempt = limiter.consume('k').catch((e: unknown) => e)
    const error = await attempt

    expect(error).toBeInstanceOf(StoreUnavailableError)
    // Not before the timeout, and long before "never" (slack for a busy 2-core CI machine).
    const waited = performance.now() - started
    expect(waited).toBeGreaterThanOrEqual(29)
    expect(waited).toBeLessThan(30 + 250)
  })

  it('when the store fails in insurance mode, limits with the insurance limiter and returns to the store when it answers', async () => {
    const { limiter, state, events } = setup('insurance')
    state.down = 'error'

    const during = [
      await limiter.consume('k'),
      await limiter.consume('k'),
      await limiter.consume('k'),
    ]
    state.down = false
    const after = await limiter.consume('k')

    expect(during.map((d) => [d.allowed, d.source])).toEqual([
      [true, 'insurance'],
      [true, 'insurance'],
      [false, 'insurance'],
    ])
    expect(after).toMatchObject({ allowed: true, source: 'store' })
    expect(events.filter((e) => e.type === 'insurance')).toHaveLength(3)
  })

  it('when asked with an invalid cost, rethrows the caller error instead of treating it as an outage', async () => {
    const { limiter, events } = setup('fail-open')

    await expect(limiter.consume('k', -1)).rejects.toBeInstanceOf(InvalidRequestError)
    expect(events).toEqual([])
  })

  it('when a blocked key is reset or refunded, forgets the block', async () => {
    const { limiter } = setup('fail-closed')
    for (let i = 0; i < 3; i++) await limiter.consume('k')

    await limiter.refund('k', 1)
    const afterRefund: Decision = await limiter.consume('k')

    expect(afterRefund.allowed).toBe(true)
    expect(limiter.blockedKeys).toBe(0)
  })
})
