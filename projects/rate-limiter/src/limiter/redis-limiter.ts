import type { Cluster, Redis } from 'ioredis'
import { decision } from './algorithm.ts'
import { InvalidPolicyError, StoreUnavailableError } from './errors.ts'
import { emissionIntervalUs } from './gcra.ts'
import { luaScript } from './lua-scripts.ts'
import {
  assertBatch,
  assertCost,
  assertKey,
  capacityOf,
  rejectInvalidRequest,
  validatePolicy,
} from './policy.ts'
import type { Algorithm, BatchDecision, BatchLimiter, Decision, Policy } from './types.ts'

/** Options of `createRedisLimiter`. */
export type RedisLimiterOptions = {
  /** An ioredis client or Cluster. On a request path give it `enableOfflineQueue: false` and a
   * `commandTimeout`, so a call fails fast while Redis is down (README, "Outages"). */
  redis: Redis | Cluster
  /** Key prefix (default `rate-limit:<policy name>:`); keys are `<prefix>{<key>}:<suffix>`. */
  prefix?: string
}

/** The reply every script gives: redis-cell's shape (times in ms), then how many passed. */
type ScriptReply = [
  limited: 0 | 1,
  limit: number,
  remaining: number,
  retryAfter: number,
  resetAfter: number,
  admitted: number,
]
type ScriptCommand = (...args: string[]) => Promise<ScriptReply>

/** Per algorithm: the ioredis command name and the keys of one client key (`base` is
 * `<prefix>{<key>}`, the braces being the Cluster hash tag). */
const SCRIPTS: Record<Algorithm, { command: string; keys: (base: string) => string[] }> = {
  'fixed-window': { command: 'rateLimitFixedWindow', keys: (base) => [`${base}:fw`] },
  'sliding-log': {
    command: 'rateLimitSlidingLog',
    keys: (base) => [`${base}:sl`, `${base}:sl:meta`],
  },
  'sliding-window': { command: 'rateLimitSlidingWindow', keys: (base) => [`${base}:sw`] },
  'token-bucket': { command: 'rateLimitTokenBucket', keys: (base) => [`${base}:tb`] },
  gcra: { command: 'rateLimitGcra', keys: (base) => [`${base}:gcra`] },
}

/**
 * A limiter shared by every process that uses the same Redis: each decision is ONE atomic Lua
 * script (EVALSHA through ioredis `defineCommand`) that reads Redis' own clock, so app servers'
 * clocks never matter, and gives every key a TTL. Keys are hash-tagged `<prefix>{<key>}:...` so
 * the sliding log's two keys share a Redis Cluster slot.
 *
 * Any Redis error (connection down, timeout) is thrown as StoreUnavailableError; wrap the limiter
 * in `createResilientLimiter` to choose what an outage means.
 * @example
 * const redis = new Redis(url, { enableOfflineQueue: false, commandTimeout: 500, enableAutoPipelining: true })
 * const limiter = createRedisLimiter({ name: 'api', algorithm: 'gcra', limit: 100, windowMs: 60_000 }, { redis })
 * const { allowed, retryAfterMs } = await limiter.consume(`user:${userId}`)
 */
export function createRedisLimiter(
  policy: Policy,
  { redis, prefix }: RedisLimiterOptions
): BatchLimiter {
  const valid = validatePolicy(policy)
  const keyPrefix = prefix ?? `rate-limit:${valid.name}:`
  if (/[{}]/.test(keyPrefix)) {
    throw new InvalidPolicyError([{ path: 'prefix', message: 'must not contain { or }' }])
  }
  const capacity = capacityOf(valid)
  const { command, keys } = SCRIPTS[valid.algorithm]
  redis.defineCommand(command, { numberOfKeys: keys('').length, lua: luaScript(valid.algorithm) })
  const script = (redis as unknown as Record<string, ScriptCommand>)[command] as ScriptCommand

  // Script arguments as strings, once: ioredis would stringify numbers on every call.
  const limitArg = String(valid.limit)
  const windowArg = String(valid.windowMs)
  const capacityArg = String(capacity)
  const intervalArg = String(emissionIntervalUs(valid.limit, valid.windowMs))

  /** One EVALSHA; the argument lists are the ARGV headers of the .lua files. */
  function run(base: string, cost: string, count = '1'): Promise<ScriptReply> {
    switch (valid.algorithm) {
      case 'fixed-window':
        return script.call(redis, `${base}:fw`, limitArg, windowArg, cost, count)
      case 'sliding-window':
        return script.call(redis, `${base}:sw`, limitArg, windowArg, cost, count)
      case 'sliding-log':
        return script.call(redis, `${base}:sl`, `${base}:sl:meta`, limitArg, windowArg, cost, count)
      case 'token-bucket':
        return script.call(redis, `${base}:tb`, limitArg, windowArg, cost, capacityArg, count)
      case 'gcra':
        return script.call(redis, `${base}:gcra`, intervalArg, capacityArg, cost, count)
    }
  }

  /** Store errors become StoreUnavailableError, keeping the original as `cause`. */
  function storeFailed(error: unknown): never {
    throw new StoreUnavailableError(
      `Rate limit store failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error }
    )
  }

  function toDecision(reply: ScriptReply): Decision {
    const allowed = reply[0] === 0
    return decision(valid, allowed, reply[2], reply[4], allowed ? 0 : reply[3])
  }

  return {
    policy: valid,

    // Not `async`: on the hot path the script's promise is chained once, no extra await layers.
    consume(key: string, cost = 1): Promise<Decision> {
      const invalid = rejectInvalidRequest(key, cost, capacity)
      if (invalid !== undefined) return invalid
      return run(`${keyPrefix}{${key}}`, cost === 1 ? '1' : String(cost)).then(
        toDecision,
        storeFailed
      )
    },

    // One script call for the whole batch: it loops over the count, so the consumes that do
    // not fit are answered in the same round trip (createCoalescingLimiter).
    async consumeBatch(key: string, cost: number, count: number): Promise<BatchDecision> {
      assertKey(key)
      assertBatch(cost, count, capacity)
      const base = `${keyPrefix}{${key}}`
      const reply = await run(base, String(cost), String(count)).catch(storeFailed)
      return { admitted: reply[5], decision: toDecision(reply) }
    },

    async refund(key: string, cost = 1): Promise<void> {
      assertKey(key)
      assertCost(cost, Number.POSITIVE_INFINITY)
      if (cost > 0) await run(`${keyPrefix}{${key}}`, String(-cost)).catch(storeFailed)
    },

    async reset(key: string): Promise<void> {
      assertKey(key)
      try {
        await redis.del(...keys(`${keyPrefix}{${key}}`))
      } catch (error) {
        throw new StoreUnavailableError('Rate limit store failed on reset', { cause: error })
      }
    },
  }
}
