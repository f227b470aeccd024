/**
 * The accuracy-against-cost table: per algorithm, how far past its limit a scripted trace gets
 * (fake clock, memory backend), and what a key and a decision cost (heap and Redis bytes per key,
 * Redis commands per decision, decision latency). rate-limiter-flexible's RateLimiterMemory and
 * RateLimiterRedis are measured the same way, where the measure applies.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible'
import {
  ALGORITHMS,
  createMemoryLimiter,
  createRedisLimiter,
  type Algorithm,
  type Policy,
} from '../src/limiter/index.ts'
import { loadConfig } from '../src/config.ts'
import { accuracyTraces, maxInAnyWindow, replay } from './traces.ts'

const run = promisify(execFile)

export const PEER = 'rate-limiter-flexible'
export type Subject = Algorithm | typeof PEER

export type AccuracyRow = {
  subject: Subject
  /** Most admitted in any windowMs ÷ limit, per trace; null when not simulated (the peer). */
  burst: Record<string, number> | null
  /** Heap bytes per key of the memory backend: after 1 request, after `fullRequests`. */
  memoryBytesPerKey: { one: number; full: number }
  /** Heap held by a limiter capped at `capKeys` after twice as many clients (null: the peer). */
  memoryAtCapBytes: number | null
  /** Redis MEMORY USAGE per client key (all its keys): after 1 request, after `fullRequests`. */
  redisBytesPerKey: { one: number; full: number }
  /** Calls Redis counted per decision (EVALSHA + what the script ran), allowed and denied. */
  redisCommands: { allowed: CommandCount; denied: CommandCount }
  /** One awaited consume at a time, timed in this process, µs. */
  latencyMicros: { memory: Percentiles; redis: Percentiles }
}

type CommandCount = { perDecision: number; byCommand: Record<string, number> }
type Percentiles = { p50: number; p99: number }

export type AccuracyReport = {
  policy: { limit: number; windowMs: number }
  fullRequests: number
  samples: { memoryKeys: number; redisKeys: number; commandDecisions: number; latency: number }
  /** The service's MEMORY_MAX_KEYS (a smoke run measures a tenth). */
  capKeys: number
  rows: AccuracyRow[]
}

/** How a measurement decides once for a key (the peer's refusals reject; they count too). */
type Decide = (key: string) => Promise<unknown>

const memoryPerKeyScript = fileURLToPath(new URL('./memory-per-key.ts', import.meta.url))

/** Heap in a fresh `node --expose-gc` process (see memory-per-key.ts), per key and held. */
async function memoryUsage(subject: Subject, keys: number, requests: number, maxKeys?: number) {
  const args = [subject, String(keys), String(requests), ...(maxKeys ? [String(maxKeys)] : [])]
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', memoryPerKeyScript, ...args],
    { cwd: fileURLToPath(new URL('..', import.meta.url)) }
  )
  return JSON.parse(stdout) as { bytesPerKey: number; heldBytes: number }
}

async function memoryBytesPerKey(subject: Subject, keys: number, requests: number) {
  return (await memoryUsage(subject, keys, requests)).bytesPerKey
}

/**
 * Sum of MEMORY USAGE (exact: SAMPLES 0) over every key in Redis: the key, its value and their
 * object headers, without the keyspace dictionary's own entry (which INFO used_memory would
 * include, along with client buffers that make its growth noisy).
 */
async function keyspaceBytes(redis: Redis): Promise<number> {
  let total = 0
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000)
    cursor = next
    const sizes = await Promise.all(
      keys.map((key) => redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'))
    )
    for (const size of sizes) total += Number(size ?? 0)
  } while (cursor !== '0')
  return total
}

/** Redis bytes per client key over `keys` fresh keys, each decided `requests` times. */
async function redisBytesPerKey(redis: Redis, decide: Decide, keys: number, requests: number) {
  await redis.flushall()
  // Batches of concurrent decisions: fast, and one key's requests stay in order.
  const batch = 500
  for (let from = 0; from < keys; from += batch) {
    const ids = Array.from({ length: Math.min(batch, keys - from) }, (_, i) => from + i)
    for (let r = 0; r < requests; r++) {
      await Promise.all(
        ids.map((id) => decide(`ip:10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}`))
      )
    }
  }
  const bytes = await keyspaceBytes(redis)
  await redis.flushall()
  return bytes / keys
}

/** Calls per decision from INFO commandstats over `decisions` sequential decisions. */
async function commandsPerDecision(redis: Redis, decide: Decide, decisions: number) {
  await decide('ip:warm-up') // loads the script, so no EVAL or NOSCRIPT is counted
  await redis.config('RESETSTAT')
  for (let i = 0; i < decisions; i++) await decide('ip:10.0.0.1')
  const stats = await redis.info('commandstats')
  const byCommand: Record<string, number> = {}
  let total = 0
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const [, name = '', calls = '0'] = match
    // The measurement's own INFO and CONFIG RESETSTAT are not the limiter's.
    if (name === 'info' || name.startsWith('config')) continue
    byCommand[name] = Number(calls) / decisions
    total += Number(calls)
  }
  return { perDecision: total / decisions, byCommand }
}

/** p50 and p99 of `samples` sequential decisions over 1,000 keys, after a warm-up, in µs. */
async function decisionLatency(decide: Decide, samples: number): Promise<Percentiles> {
  const key = (i: number) => `ip:10.0.${(i >> 8) & 3}.${i & 255}`
  for (let i = 0; i < Math.min(samples, 2000); i++) await decide(key(i))
  const times = new Float64Array(samples)
  for (let i = 0; i < samples; i++) {
    const started = performance.now()
    await decide(key(i))
    times[i] = (performance.now() - started) * 1000
  }
  times.sort()
  const at = (p: number) => times[Math.min(samples - 1, Math.ceil((p / 100) * samples) - 1)] ?? 0
  return { p50: at(50), p99: at(99) }
}

/** Never rejects: the peer refuses by rejecting, and a refusal is a decision like any other. */
function settle(decide: (key: string) => Promise<unknown>): Decide {
  return (key) => decide(key).catch((error: unknown) => error)
}

let prefixes = 0
/** A Redis limiter (or the peer's) for `limit` per window, on keys of its own. */
function redisDecider(redis: Redis, subject: Subject, limit: number, windowMs: number): Decide {
  const prefix = `accuracy:${prefixes++}:`
  if (subject === PEER) {
    const peer = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: prefix,
      points: limit,
      duration: windowMs / 1000,
    })
    return settle((key) => peer.consume(key))
  }
  const policy: Policy = { name: 'accuracy', algorithm: subject, limit, windowMs }
  const limiter = createRedisLimiter(policy, { redis, prefix })
  return (key) => limiter.consume(key)
}

function memoryDecider(subject: Subject, limit: number, windowMs: number): Decide {
  if (subject === PEER) {
    const peer = new RateLimiterMemory({ points: limit, duration: windowMs / 1000 })
    return settle((key) => peer.consume(key))
  }
  const limiter = createMemoryLimiter({ name: 'accuracy', algorithm: subject, limit, windowMs })
  return (key) => limiter.consume(key)
}

/**
 * Measures every row. Needs a Redis of its own (`redisUrl`): it FLUSHALLs and resets the
 * command statistics.
 */
export async function measureAccuracy({
  redisUrl,
  smoke = false,
  log = (line: string) => process.stderr.write(`${line}\n`),
}: {
  redisUrl: string
  smoke?: boolean
  log?: (line: string) => void
}): Promise<AccuracyReport> {
  const policy = { limit: 100, windowMs: 1000 }
  const fullRequests = 100
  const capKeys = loadConfig({}).MEMORY_MAX_KEYS / (smoke ? 10 : 1)
  const samples = smoke
    ? { memoryKeys: 10_000, redisKeys: 1_000, commandDecisions: 200, latency: 2_000 }
    : { memoryKeys: 100_000, redisKeys: 10_000, commandDecisions: 1_000, latency: 20_000 }
  // A quota no measurement reaches, over a day. A token bucket or GCRA key lives only until its
  // units have refilled: at 10,000 a day one unit takes 8.6 s, longer than a measurement runs.
  const generous = 10_000
  const day = 86_400_000
  const redis = new Redis(redisUrl, { enableAutoPipelining: true })
  const rows: AccuracyRow[] = []
  try {
    for (const subject of [...ALGORITHMS, PEER] as Subject[]) {
      log(`accuracy: ${subject}`)
      let burst: Record<string, number> | null = null
      if (subject !== PEER) {
        burst = {}
        const traced: Policy = { name: 'accuracy', algorithm: subject, ...policy }
        for (const [name, trace] of Object.entries(accuracyTraces(traced))) {
          const admitted = await replay(traced, trace)
          burst[name] = maxInAnyWindow(admitted, policy.windowMs) / policy.limit
        }
      }
      const fullKeys = samples.memoryKeys / 5
      const memoryBytes = {
        one: await memoryBytesPerKey(subject, samples.memoryKeys, 1),
        full: await memoryBytesPerKey(subject, fullKeys, fullRequests),
      }
      const memoryAtCapBytes =
        subject === PEER ? null : (await memoryUsage(subject, capKeys * 2, 1, capKeys)).heldBytes
      const redisBytes = {
        one: await redisBytesPerKey(
          redis,
          redisDecider(redis, subject, generous, day),
          samples.redisKeys,
          1
        ),
        full: await redisBytesPerKey(
          redis,
          redisDecider(redis, subject, generous, day),
          samples.redisKeys / 10,
          fullRequests
        ),
      }
      // Allowed: a hot key far from its limit. Denied: a key whose one unit is spent.
      const allowed = await commandsPerDecision(
        redis,
        redisDecider(redis, subject, generous, day),
        samples.commandDecisions
      )
      const spent = redisDecider(redis, subject, 1, day)
      await spent('ip:10.0.0.1')
      const denied = await commandsPerDecision(redis, spent, samples.commandDecisions)
      const latency = {
        memory: await decisionLatency(memoryDecider(subject, generous, day), samples.latency * 5),
        redis: await decisionLatency(redisDecider(redis, subject, generous, day), samples.latency),
      }
      await redis.flushall()
      rows.push({
        subject,
        burst,
        memoryBytesPerKey: memoryBytes,
        memoryAtCapBytes,
        redisBytesPerKey: redisBytes,
        redisCommands: { allowed, denied },
        latencyMicros: latency,
      })
    }
  } finally {
    await redis.quit()
  }
  return { policy, fullRequests, samples, capKeys, rows }
}
