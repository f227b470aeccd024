import type { RedisClient } from './redis-client.ts'

export type EvictionPolicy = { policy: string | undefined; ok: boolean }

/**
 * Redis's `maxmemory-policy`. BullMQ's production guide: `noeviction` "is the only setting that
 * guarantees the correct behavior of the queues"; any other lets Redis delete a job's keys under
 * memory pressure. A service that cannot read it (a managed Redis that refuses CONFIG) cannot
 * promise it either, so that counts as not ok.
 *
 * @example
 * ```ts
 * createHealth([{ name: 'eviction-policy', critical: true, check: async () => (await evictionPolicy(redis)).ok }])
 * ```
 */
export async function evictionPolicy(redis: RedisClient): Promise<EvictionPolicy> {
  try {
    // A cluster: every master holds some queue's keys, so each must refuse to evict.
    const nodes = 'nodes' in redis ? redis.nodes('master') : [redis]
    const policies = await Promise.all(
      nodes.map(async (node) => (await node.config('GET', 'maxmemory-policy'))[1])
    )
    const policy = policies.find((p) => p !== 'noeviction') ?? policies[0]
    return { policy, ok: policies.length > 0 && policies.every((p) => p === 'noeviction') }
  } catch {
    return { policy: undefined, ok: false }
  }
}
