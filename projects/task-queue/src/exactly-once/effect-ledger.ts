/**
 * Exactly-once effects on an at-least-once queue. BullMQ delivers a job at least once: a worker
 * killed mid-job, or one that loses its lock, has the job run again. A handler whose effect is
 * keyed by the job id and applied atomically with a marker makes the second run harmless.
 *
 * `once(effectId, writes)` applies Redis writes and sets the marker in one Lua script: both
 * happen or neither does, so no crash between "did the effect" and "remembered doing it" can
 * double it. An effect outside Redis (an email, a payment) goes through the same door as an
 * outbox entry written once, and the relay that delivers it passes the effect id as the
 * receiver's idempotency key: the receiver then holds the other half of the promise.
 *
 * Redis Cluster: a script's keys must hash to one slot. Give the marker prefix and the keys the
 * writes touch one hash tag (`{orders}:effects`, `{orders}:totals`).
 */
import { readFileSync } from 'node:fs'
import type { Cluster, Redis } from 'ioredis'

const APPLY_ONCE = readFileSync(new URL('./apply-once.lua', import.meta.url), 'utf8')

/** One Redis write: the command, its key, then its other arguments. */
export type EffectWrite = {
  command: string
  key: string
  args?: (string | number)[]
}

export type EffectOutcome = {
  /** true when this call applied the writes; false when an earlier one already had. */
  applied: boolean
  /** When the effect was applied (ms since the epoch). */
  appliedAt: number
}

export type EffectLedgerOptions = {
  /** A client or a Redis Cluster (the keys of one call share a hash tag). */
  redis: Redis | Cluster
  /** Marker keys are `<prefix>:<effectId>`; e.g. 'orders:effects'. */
  prefix: string
  /** How long a marker is kept: longer than a job can be retried. Default 7 days. */
  ttlSeconds?: number
  now?: () => number
}

export type EffectLedger = {
  /**
   * Applies `writes` unless the effect `effectId` was applied before; atomic with its marker.
   */
  once(effectId: string, writes: EffectWrite[]): Promise<EffectOutcome>
  /** When the effect was applied, or undefined if it never was (or its marker expired). */
  appliedAt(effectId: string): Promise<number | undefined>
}

type ApplyOnce = (
  numberOfKeys: number,
  ...keysAndArgs: (string | number)[]
) => Promise<[number, string]>

/**
 * A ledger of effects applied exactly once, keyed by an id the caller chooses (the job id for
 * a job's effect, so every retry of the job names the same effect).
 *
 * @example
 * ```ts
 * const effects = createEffectLedger({ redis, prefix: '{shop}:effects' })
 * const worker = new Worker('orders', async (job) => {
 *   await effects.once(job.id!, [
 *     { command: 'HINCRBY', key: '{shop}:totals', args: [job.data.sku, job.data.quantity] },
 *     { command: 'XADD', key: '{shop}:outbox', args: ['*', 'job', job.id!] },
 *   ])
 * }, { connection })
 * ```
 */
export function createEffectLedger({
  redis,
  prefix,
  ttlSeconds = 7 * 24 * 3600,
  now = Date.now,
}: EffectLedgerOptions): EffectLedger {
  if (!('applyEffectOnce' in redis)) {
    redis.defineCommand('applyEffectOnce', { lua: APPLY_ONCE })
  }
  const apply = (redis as unknown as { applyEffectOnce: ApplyOnce }).applyEffectOnce.bind(redis)
  const markerKey = (effectId: string) => `${prefix}:${effectId}`

  return {
    async once(effectId, writes) {
      const commands = writes.map((write) => [write.command, ...(write.args ?? [])])
      const [applied, appliedAt] = await apply(
        1 + writes.length,
        markerKey(effectId),
        ...writes.map((write) => write.key),
        ttlSeconds,
        now(),
        JSON.stringify(commands)
      )
      return { applied: applied === 1, appliedAt: Number(appliedAt) }
    },
    async appliedAt(effectId) {
      const value = await redis.get(markerKey(effectId))
      return value === null ? undefined : Number(value)
    },
  }
}
