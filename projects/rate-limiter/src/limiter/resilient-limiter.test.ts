import { describe, expect, it, onTestFinished } from 'vitest'
import { InvalidRequestError, StoreUnavailableError } from './errors.ts'
import { createMemoryLimiter } from './memory-limiter.ts'
import { createResilientLimiter } from './resilient-limiter.ts'
import { createStoreMonitor } from './store-monitor.ts'
import type { Decision, Limiter, LimiterEvent, Policy } from './types.ts'

const policy: Policy = { name: 'api', algorithm: 'fixed-window', limit: 2, windowMs: 1000 }

/**
 * A store that answers like a memory limiter until `down` is set: 'error' refuses every call and
 * ping (a closed connection), 'hang' holds them (a frozen Redis) until `resume()` runs them.
 */
function flakyStore(clock: { now: number }) {
  const inner = createMemoryLimiter(policy, { clock: () => clock.now, sweepIntervalMs: 0 })
  const held: (() => void)[] = []
  const state = { down: false as false | 'error' | 'hang', calls: 0 }
  const gate = <T>(operation: () => Promise<T>): Promise<T> => {
    if (state.down === 'error') {
      return Promise.reject(new StoreUnavailableError('connection refused'))
    }
    if (state.down === 'hang') {
      return new Promise<T>((resolve, reject) => {
        held.push(() => void operation().then(resolve, reject))
      })
    }
    // Answered from the event loop, as a reply read from a socket is.
    return new Promise<void>((resolve) => setImmediate(resolve)).then(operation)
  }
  const store: Limiter = {
    policy,
    consume: (key, cost) => {
      state.calls++
      return gate(() => inner.consume(key, cost))
    },
    refund: (key, cost) => gate(() => inner.refund(key, cost)),
    reset: (key) => gate(() => inner.reset(key)),
  }
  const ping = () => gate(() => Promise.resolve('PONG'))
  /** The frozen store resumes: it runs what it was sent, in order. */
  const resume = () => {
    state.down = false
    for (const run of held.splice(0)) run()
  }
  return { store, state, inner, ping, resume }
}

const TIMEOUT_MS = 30

function setup(onStoreFailure: 'fail-open' | 'fail-closed' | 'insurance') {
  const clock = { now: 1_700_000_000_000 }
  const { store, state, inner, ping, resume } = flakyStore(clock)
  const events: LimiterEvent[] = []
  const monitor = createStoreMonitor({ ping, timeoutMs: TIMEOUT_MS })
  const limiter = createResilientLimiter(store, {
    onStoreFailure,
    monitor,
    clock: () => clock.now,
    insurance: createMemoryLimiter(policy, { clock: () => clock.now, sweepIntervalMs: 0 }),
    onEvent: (e) => events.push(e),
  })
  onTestFinished(() => monitor.close())
  return { clock, limiter, state, events, monitor, inner, resume }
}

/** Keeps this event loop busy, as a process handling a large request does. */
function busy(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until);
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

  it('when the store fails in fail-open mode, admits, reports the failure, and stops asking the store once it is found down', async () => {
    const { limiter, state, events, monitor } = setup('fail-open')
    state.down = 'error'

    const decision = await limiter.consume('k')
    await expect.poll(() => monitor.state).toBe('down')
    const callsWhileDown = state.calls
    const next = await limiter.consume('k')

    expect(decision).toMatchObject({ allowed: true, source: 'fail-open' })
    expect(next).toMatchObject({ allowed: true, source: 'fail-open' })
    expect(state.calls).toBe(callsWhileDown)
    expect(events.map((e) => e.type)).toEqual([
      'store-failure',
      'allowed',
      'store-failure',
      'allowed',
    ])
  })

  it('when the store fails in fail-closed mode, throws StoreUnavailableError', async () => {
    const { limiter, state } = setup('fail-closed')
    state.down = 'error'

    await expect(limiter.consume('k')).rejects.toBeInstanceOf(StoreUnavailableError)
  })

  it("when the event loop is busy for longer than the timeout while the store answers, the decisions stay the store's", async () => {
    const { limiter, monitor } = setup('insurance')

    const pending = Array.from({ length: 4 }, () => limiter.consume('k'))
    busy(TIMEOUT_MS * 4)
    const decisions = await Promise.all(pending)

    expect(decisions.map((d) => [d.allowed, d.source])).toEqual([
      [true, 'store'],
      [true, 'store'],
      [false, 'store'],
      [false, 'store'],
    ])
    expect(monitor.state).toBe('up')
  })

  it('when the store freezes, gives up once it also ignores a ping, and undoes the call when the store runs it later', async () => {
    const { limiter, state, monitor, inner, resume } = setup('fail-closed')
    state.down = 'hang'

    const error = await limiter.consume('k').catch((e: unknown) => e)
    const stateWhileFrozen = monitor.state
    resume()
    await expect.poll(() => monitor.state).toBe('up')
    // The frozen store ran the consume on resuming; its unit was given back.
    const peek = await inner.consume('k', 0)

    expect(error).toBeInstanceOf(StoreUnavailableError)
    expect(stateWhileFrozen).toBe('down')
    expect(peek.remaining).toBe(policy.limit)
  })

  it('when the store fails in insurance mode, limits with the insurance limiter and returns to the store when it answers', async () => {
    const { limiter, state, events, monitor } = setup('insurance')
    state.down = 'error'

    const during = [
      await limiter.consume('k'),
      await limiter.consume('k'),
      await limiter.consume('k'),
    ]
    state.down = false
    await expect.poll(() => monitor.state).toBe('up')
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
