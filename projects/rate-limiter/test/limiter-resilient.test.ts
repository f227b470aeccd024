import { onceEvent, startRedisServer, uniqueName, waitFor, type RedisServer } from '@kit/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createRedisLimiter,
  createResilientLimiter,
  StoreUnavailableError,
  type LimiterEvent,
  type Policy,
  type ResilientDecision,
  type ResilientLimiter,
} from '../src/limiter/index.ts'

// R5 (reliability.md §3): Redis killed or frozen mid-run. No call waits past the limiter's
// timeout, each outage policy holds, and store-backed decisions come back by themselves.
const TIMEOUT_MS = 100
const SLACK_MS = 100
const policy: Policy = { name: 'outage', algorithm: 'fixed-window', limit: 3, windowMs: 60_000 }

let server: RedisServer
let redis: Redis
let limiters: Record<'fail-open' | 'fail-closed' | 'insurance', ResilientLimiter>
const events: LimiterEvent[] = []

beforeAll(async () => {
  // A private server: this file kills it.
  server = await startRedisServer()
  // The request-path client settings the README recommends: fail fast while down, reconnect
  // quickly in the background.
  redis = new Redis(server.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 500,
    commandTimeout: 500,
    retryStrategy: (attempt) => Math.min(attempt * 50, 500),
  })
  redis.on('error', () => undefined)
  await onceEvent(redis, 'ready')
  const store = createRedisLimiter(policy, { redis, prefix: `${uniqueName('limiter-outage')}:` })
  const options = {
    timeoutMs: TIMEOUT_MS,
    blockCache: false,
    onEvent: (e: LimiterEvent) => events.push(e),
  }
  limiters = {
    'fail-open': createResilientLimiter(store, { ...options, onStoreFailure: 'fail-open' }),
    'fail-closed': createResilientLimiter(store, { ...options, onStoreFailure: 'fail-closed' }),
    insurance: createResilientLimiter(store, { ...options, onStoreFailure: 'insurance' }),
  }
})

afterAll(async () => {
  redis.disconnect()
  await server.stop()
})

/** Runs `calls` consumes on every limiter one after another, timing each. */
async function run(key: string, calls: number) {
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
    const result = await run('up', 4)

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

  it('when Redis is killed, no call exceeds the timeout; fail-open admits, fail-closed throws, insurance still limits', async () => {
    await server.kill()
    events.length = 0

    const result = await run('killed', 5)

    expect(result.slowestMs).toBeLessThan(TIMEOUT_MS + SLACK_MS)
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

  it('when Redis comes back, store-backed decisions resume by themselves within 5 s', async () => {
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

    console.info(`store-backed decisions resumed ${Math.round(backAfterMs)} ms after restart began`)
    expect(backAfterMs).toBeLessThan(5000)
  })

  it('when Redis is frozen (SIGSTOP), calls give up at the timeout and the outage policy holds', async () => {
    server.pause()
    try {
      const result = await run('frozen', 2)

      expect(result.slowestMs).toBeLessThan(TIMEOUT_MS + SLACK_MS)
      expect(result.open.every((d) => d.source === 'fail-open')).toBe(true)
      expect(result.insured.every((d) => d.source === 'insurance')).toBe(true)
      expect(result.closed.every((e) => e instanceof StoreUnavailableError)).toBe(true)
    } finally {
      server.resume()
    }
  })
})
