import { connectCluster, startRedisCluster, uniqueName } from '@kit/testing'
import type { RedisCluster, RedisClusterNode } from '@kit/testing'
import { Redis, type Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ALGORITHMS,
  createCoalescingLimiter,
  createRedisLimiter,
  type Algorithm,
  type Limiter,
} from '../src/limiter/index.ts'

// The five Redis algorithms on a real Redis Cluster (three masters): each script's KEYS share the
// client key's hash tag, so every decision is one script on the one master that owns the slot,
// and the admission counts are as exact as on one server.
const prefix = `${uniqueName('limiter-cluster')}:`
let cluster: RedisCluster
let client: Cluster

beforeAll(async () => {
  cluster = await startRedisCluster()
  // The service's Redis options: fail fast, auto-pipelining (per node on a cluster).
  client = await connectCluster(cluster.urls, {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    redisOptions: { commandTimeout: 2000 },
  })
}, 60_000)

afterAll(async () => {
  client?.disconnect()
  await cluster?.stop()
})

/** The Redis keys of one client key, as redis-limiter.ts names them. */
function keysOf(algorithm: Algorithm, key: string): string[] {
  const base = `${prefix}{${key}}`
  const suffixes: Record<Algorithm, string[]> = {
    'fixed-window': [':fw'],
    'sliding-log': [':sl', ':sl:meta'],
    'sliding-window': [':sw'],
    'token-bucket': [':tb'],
    gcra: [':gcra'],
  }
  return suffixes[algorithm].map((suffix) => base + suffix)
}

/** One client key per master, so every master runs the algorithm's script. */
async function keyPerMaster(label: string): Promise<Map<string, RedisClusterNode>> {
  const keys = new Map<string, RedisClusterNode>()
  const masters = new Set<number>()
  for (let i = 0; masters.size < 3; i++) {
    const key = `${label}-${i}`
    const master = await cluster.masterOf(`${prefix}{${key}}`)
    if (masters.has(master.port)) continue
    masters.add(master.port)
    keys.set(key, master)
  }
  return keys
}

/** Which nodes hold `key` (asked directly, no redirection). */
async function nodesHolding(key: string): Promise<number[]> {
  const holding: number[] = []
  for (const node of cluster.nodes) {
    const direct = new Redis(node.url, { retryStrategy: () => null, maxRetriesPerRequest: 0 })
    direct.on('error', () => {})
    // A node that does not own the slot answers MOVED: it does not hold the key.
    if ((await direct.exists(key).catch(() => 0)) === 1) holding.push(node.port)
    direct.disconnect()
  }
  return holding
}

async function admitted(limiter: Limiter, key: string, count: number): Promise<number> {
  const decisions = await Promise.all(Array.from({ length: count }, () => limiter.consume(key)))
  return decisions.filter((d) => d.allowed).length
}

describe('createRedisLimiter on a Redis Cluster', () => {
  it.each(ALGORITHMS)(
    'when 300 concurrent consumes hit each of three %s keys on three masters (limit 100), admit exactly 100 per key, all keys on the master of their tag',
    async (algorithm) => {
      const limiter = createRedisLimiter(
        { name: `cluster-${algorithm}`, algorithm, limit: 100, windowMs: 600_000 },
        { redis: client, prefix }
      )
      const keys = await keyPerMaster(`burst-${algorithm}`)

      const counts = await Promise.all([...keys.keys()].map((key) => admitted(limiter, key, 300)))

      expect(counts).toEqual([100, 100, 100])
      for (const [key, master] of keys) {
        for (const redisKey of keysOf(algorithm, key)) {
          expect(await nodesHolding(redisKey)).toEqual([master.port])
        }
      }
    }
  )

  it.each(ALGORITHMS)(
    'when the consumes of a %s key go through the coalescing limiter (one script per batch), still admit exactly 100',
    async (algorithm) => {
      const store = createRedisLimiter(
        { name: `cluster-coalesced-${algorithm}`, algorithm, limit: 100, windowMs: 600_000 },
        { redis: client, prefix }
      )
      const limiter = createCoalescingLimiter(store)

      const count = await admitted(limiter, `coalesced-${algorithm}`, 1000)

      expect(count).toBe(100)
    }
  )

  it('when 300 concurrent consumes hit one fixed-window key (limit 100) in each of 3 consecutive 1 s windows, admit exactly 100 in each', async () => {
    const windowMs = 1000
    const limiter = createRedisLimiter(
      { name: 'cluster-windows', algorithm: 'fixed-window', limit: 100, windowMs },
      { redis: client, prefix }
    )
    const perWindow: number[] = []

    for (let round = 0; round < 3; round++) {
      // Windows are aligned to epoch multiples of Redis' clock: fire just after one opens.
      const [seconds, micros] = await client.time()
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
      const windowStart = (Math.floor(now / windowMs) + 1) * windowMs
      await new Promise((resolve) => setTimeout(resolve, windowStart + 100 - now))
      const count = await admitted(limiter, 'windows', 300)
      const [endSeconds] = await client.time()
      // Only meaningful if the whole burst landed inside that window.
      expect(Number(endSeconds) * 1000).toBeLessThan(windowStart + windowMs)
      perWindow.push(count)
    }

    expect(perWindow).toEqual([100, 100, 100])
  })

  it.each(ALGORITHMS)(
    'when a %s key is reset (a multi-key DEL for the sliding log) and refunded, its quota comes back',
    async (algorithm) => {
      const limiter = createRedisLimiter(
        { name: `cluster-reset-${algorithm}`, algorithm, limit: 5, windowMs: 600_000 },
        { redis: client, prefix }
      )
      const key = `reset-${algorithm}`
      await admitted(limiter, key, 5)

      const deniedBefore = await limiter.consume(key)
      await limiter.reset(key)
      const afterReset = await admitted(limiter, key, 10)
      await limiter.refund(key, 2)
      const afterRefund = await admitted(limiter, key, 10)

      expect(deniedBefore.allowed).toBe(false)
      expect(afterReset).toBe(5)
      expect(afterRefund).toBe(2)
      for (const redisKey of keysOf(algorithm, key)) {
        expect(await client.pttl(redisKey)).toBeGreaterThan(0)
      }
    }
  )
})
