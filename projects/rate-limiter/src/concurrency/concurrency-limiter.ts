/**
 * Stripe's concurrent-requests limiter: at most `limit` requests of one key in flight at once
 * ("Scaling your API with rate limiters"). It protects expensive endpoints from a client that
 * opens many slow requests, which a requests-per-second limit does not see.
 *
 * Each admitted request holds a lease until it releases it (when the response is sent). A lease
 * also expires after `leaseMs`, so slots held by a process that crashed come back by themselves;
 * choose `leaseMs` above the longest request the route allows.
 *
 * Two backends: in memory (per process) and Redis (a ZSET of request ids scored by lease expiry,
 * one Lua script per acquire, `concurrency-acquire.lua`).
 *
 * @example
 * const uploads = createRedisConcurrencyLimiter({ redis, limit: 2 })
 * const lease = await uploads.acquire(clientKey)
 * if (!lease.acquired) return tooManyRequests()
 * try { return await handle() } finally { await lease.release() }
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'

export type ConcurrencyLease =
  | {
      acquired: true
      limit: number
      /** Requests of this key in flight, this one included. */
      inFlight: number
      /** Gives the slot back; calling it again does nothing. */
      release(): Promise<void>
    }
  | {
      acquired: false
      limit: number
      inFlight: number
    }

export interface ConcurrencyLimiter {
  readonly limit: number
  /** Takes a slot for `key` if one is free. The Redis backend rejects when Redis cannot answer. */
  acquire(key: string): Promise<ConcurrencyLease>
}

export type ConcurrencyLimiterOptions = {
  /** Most requests of one key in flight at once (positive integer). */
  limit: number
  /** A slot not released within this time is reclaimed (a crashed holder). */
  leaseMs?: number
}

export class InvalidConcurrencyLimitError extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}

function validate(limit: number, leaseMs: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new InvalidConcurrencyLimitError(`limit must be a positive integer, got ${limit}`)
  }
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1) {
    throw new InvalidConcurrencyLimitError(`leaseMs must be a positive integer, got ${leaseMs}`)
  }
}

/** Per-process slots; memory holds only keys with requests in flight. */
export function createMemoryConcurrencyLimiter({
  limit,
  leaseMs = 60_000,
  clock = Date.now,
}: ConcurrencyLimiterOptions & { clock?: () => number }): ConcurrencyLimiter & {
  /** Keys with at least one lease held. */
  readonly size: number
} {
  validate(limit, leaseMs)
  // key -> (request id -> lease expiry)
  const leases = new Map<string, Map<string, number>>()

  return {
    limit,
    get size() {
      return leases.size
    },
    acquire(key) {
      const now = clock()
      const held = leases.get(key) ?? new Map<string, number>()
      for (const [id, expiresAt] of held) if (expiresAt <= now) held.delete(id)
      if (held.size >= limit)
        return Promise.resolve({ acquired: false, limit, inFlight: held.size })

      const id = randomUUID()
      held.set(id, now + leaseMs)
      leases.set(key, held)
      return Promise.resolve({
        acquired: true,
        limit,
        inFlight: held.size,
        release() {
          held.delete(id)
          if (held.size === 0 && leases.get(key) === held) leases.delete(key)
          return Promise.resolve()
        },
      })
    },
  }
}

type AcquireCommand = (
  key: string,
  limit: number,
  leaseMs: number,
  requestId: string
) => Promise<[number, number, number]>

const COMMAND = 'rateLimiterConcurrencyAcquire'
let acquireScript: string | undefined

/**
 * Slots shared by every instance through Redis. Keys are `<prefix>{<key>}`: one key per script,
 * hash-tagged like the rest of the kit so a Redis Cluster can hold them.
 */
export function createRedisConcurrencyLimiter({
  redis,
  limit,
  leaseMs = 60_000,
  prefix = 'rate-limiter:concurrency:',
}: ConcurrencyLimiterOptions & { redis: Redis; prefix?: string }): ConcurrencyLimiter {
  validate(limit, leaseMs)
  // Read beside this module (a bundle needs the .lua copied next to it, see the build script).
  acquireScript ??= readFileSync(new URL('./concurrency-acquire.lua', import.meta.url), 'utf8')
  redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: acquireScript })
  const acquireSlot = (redis as unknown as Record<string, AcquireCommand>)[
    COMMAND
  ] as AcquireCommand

  return {
    limit,
    async acquire(key) {
      const setKey = `${prefix}{${key}}`
      const id = randomUUID()
      const [acquired, inFlight] = await acquireSlot.call(redis, setKey, limit, leaseMs, id)
      if (acquired !== 1) return { acquired: false, limit, inFlight }
      let released = false
      return {
        acquired: true,
        limit,
        inFlight,
        async release() {
          if (released) return
          released = true
          await redis.zrem(setKey, id)
        },
      }
    },
  }
}
