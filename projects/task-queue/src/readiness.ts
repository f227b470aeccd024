import type { Redis } from 'ioredis'

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
export async function evictionPolicy(redis: Redis): Promise<EvictionPolicy> {
  try {
    const reply = await redis.config('GET', 'maxmemory-policy')
    const policy = reply[1]
    return { policy, ok: policy === 'noeviction' }
  } catch {
    return { policy: undefined, ok: false }
  }
}
