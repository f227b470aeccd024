import { onceEvent, startRedisServer, uniqueName, waitFor } from '@kit/testing'
import { Redis } from 'ioredis'
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  createRedisLimiter,
  createResilientLimiter,
  createStoreMonitor,
  StoreUnavailableError,
  type LimiterEvent,
  type Policy,
  type ResilientDecision,
  type ResilientLimiter,
} from '../src/limiter/index.ts'

// Redis killed or frozen mid-run. No call waits much past the monitor's verdict, each outage
// policy holds, and store-backed decisions come back by themselves. Every test starts its own
// redis-server (they kill it) and its own client.
const TIMEOUT_MS = 100
// A frozen store is found down after a call waited TIMEOUT_MS and a ping another TIMEOUT_MS.
const VERDICT_MS = 2 * TIMEOUT_MS
const SLACK_MS = 250
const policy: Policy = { name: 'outage', algorithm: 'fixed-window', limit: 3, windowMs: 60_000 }
type Mode = 'fail-open' | 'fail-closed' | 'insurance'

/** A private redis-server, a client with the service's settings, and one limiter per mode. */
async function setup() {
  const server = await startRedisServer()
  // The request-path client settings of src/service.ts: fail fast while down, reconnect quickly,
  // no per-command timeout (the monitor decides when Redis is down).
  const redis = new Redis(server.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 500,
    retryStrategy: (attempt) => Math.min(attempt * 50, 500),
  })
  redis.on('error', () => undefined)
  await onceEvent(redis, 'ready')
  const monitor = createStoreMonitor({
    ping: () => redis.ping(),
    connected: () => redis.status === 'ready',
    timeoutMs: TIMEOUT_MS,
  })
  onTestFinished(async () => {
    monitor.close()
    server.resume()
    redis.disconnect()
    await server.stop()
  })
  const store = createRedisLimiter(policy, { redis, prefix: `${uniqueName('limiter-outage')}:` })
  const events: LimiterEvent[] = []
  const options = { monitor, blockCache: false, onEvent: (e: LimiterEvent) => events.push(e) }
  const limiters: Record<Mode, ResilientLimiter> = {
    'fail-open': createResilientLimiter(store, { ...options, onStoreFailure: 'fail-open' }),
    'fail-closed': createResilientLimiter(store, { ...options, onStoreFailure: 'fail-closed' }),
    insurance: createResilientLimiter(store, { ...options, onStoreFailure: 'insurance' }),
  }
  return { server, redis, store, monitor, limiters, events }
}

/** Runs `calls` consumes on every limiter one after another, timing each. */
async function run(limiters: Record<Mode, ResilientLimiter>, key: string, calls: number) {
  const out = {
    slowestMs: 0,
    open: [] as ResilientDecision[],
    insured: [] as ResilientDecision[],
    closed: [] as unknown[],
  }
  const timed = async <T>(operation: () => Promise<T>): Promise<T> => {
    const started = performance.now()
    try {
      return await operation()
    } finally {
      out.slowestMs = Math.max(out.slowestMs, performance.now() - started)
    }
  }
  for (let i = 0; i < calls; i++) {
    out.open.push(await timed(() => limiters['fail-open'].consume(`${key}-open`)))
    out.insured.push(await timed(() => limiters.insurance.consume(`${key}-insured`)))
    out.closed.push(
      await timed(() => limiters['fail-closed'].consume(`${key}-closed`).catch((e: unknown) => e))
    )
  }
  return out
}

describe('createResilientLimiter over a Redis that dies', () => {
  it('when Redis answers, every mode decides from the store', async () => {
    const { limiters } = await setup()

    const result = await run(limiters, 'up', 4)

    expect(result.open.map((d) => [d.allowed, d.source])).toEqual([
      [true, 'store'],
      [true, 'store'],
      [true, 'store'],
      [false, 'store'],
    ])
    expect(result.insured.map((d) => d.source)).toEqual(['store', 'store', 'store', 'store'])
    expect(result.closed.map((d) => (d as ResilientDecision).allowed)).toEqual([
      true,
      true,
      true,
      false,
    ])
  })

  it('when Redis is killed, no call waits; fail-open admits, fail-closed throws, insurance still limits', async () => {
    const { server, limiters, events } = await setup()
    await server.kill()

    const result = await run(limiters, 'killed', 5)

    expect(result.slowestMs).toBeLessThan(VERDICT_MS + SLACK_MS)
    expect(result.open.every((d) => d.allowed && d.source === 'fail-open')).toBe(true)
    expect(result.closed.every((e) => e instanceof StoreUnavailableError)).toBe(true)
    expect(result.insured.map((d) => [d.allowed, d.source])).toEqual([
      [true, 'insurance'],
      [true, 'insurance'],
      [true, 'insurance'],
      [false, 'insurance'],
      [false, 'insurance'],
    ])
    expect(events.filter((e) => e.type === 'store-failure')).toHaveLength(15)
  })

  it('when Redis comes back after being killed, store-backed decisions resume by themselves within 5 s', async () => {
    const { server, limiters, monitor } = await setup()
    await server.kill()
    await waitFor(async () => (await limiters['fail-open'].consume('dead')).source === 'fail-open')
    const started = performance.now()
    await server.restart()

    const backAfterMs = await waitFor(
      async () => {
        const decisions = await Promise.all([
          limiters['fail-open'].consume('back-open'),
          limiters.insurance.consume('back-insured'),
          limiters['fail-closed'].consume('back-closed').catch(() => undefined),
        ])
        return decisions.every((d) => d?.source === 'store')
          ? performance.now() - started
          : undefined
      },
      { timeoutMs: 5000, intervalMs: 50, message: 'store-backed decisions did not resume' }
    )

    expect(backAfterMs).toBeLessThan(5000)
    expect(monitor.state).toBe('up')
  })

  it('when Redis is frozen (SIGSTOP), only the first calls wait for the verdict, the outage policy holds, and what the frozen Redis runs later is undone', async () => {
    const { server, redis, store, limiters } = await setup()
    const key = 'frozen'
    server.pause()

    const result = await run(limiters, key, 3)
    server.resume()
    // The calls sent before the verdict run now; each admission is refunded when it arrives.
    await waitFor(async () => (await redis.dbsize()) > 0)
    const peeks = await waitFor(async () => {
      const remaining = await Promise.all(
        (['open', 'insured', 'closed'] as const).map(
          async (mode) => (await store.consume(`${key}-${mode}`, 0)).remaining
        )
      )
      return remaining.every((r) => r === policy.limit) ? remaining : undefined
    })

    expect(result.slowestMs).toBeLessThan(VERDICT_MS + SLACK_MS)
    expect(result.open.every((d) => d.source === 'fail-open')).toBe(true)
    expect(result.insured.every((d) => d.source === 'insurance')).toBe(true)
    expect(result.closed.every((e) => e instanceof StoreUnavailableError)).toBe(true)
    expect(peeks).toEqual([policy.limit, policy.limit, policy.limit])
  })
})
