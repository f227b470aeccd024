/**
 * Heap bytes per key of a memory limiter (one of the five algorithms, or the peer's
 * RateLimiterMemory as `rate-limiter-flexible`), measured in a fresh process (run.ts spawns it with
 * `node --expose-gc`): heap after a forced GC with `keys` clients holding state, minus the heap
 * before, divided by `keys`. The key strings and the Map entries count: they are part of what a
 * key costs.
 *
 *   node --expose-gc --import tsx benchmarks/memory-per-key.ts <algorithm> <keys> <requestsPerKey> [maxKeys]
 *
 * With `maxKeys` the limiter is capped as the service caps it (MEMORY_MAX_KEYS): `keys` clients
 * arrive, at most `maxKeys` are held, and `heldBytes` is what the held ones take.
 *
 * Prints one JSON line: { algorithm, keys, requestsPerKey, maxKeys, held, heldBytes, bytesPerKey }.
 */
import { RateLimiterMemory } from 'rate-limiter-flexible'
import { ALGORITHMS, createMemoryLimiter, type Algorithm } from '../src/limiter/index.ts'

const PEER = 'rate-limiter-flexible'

const [algorithm, keysArg = '100000', requestsArg = '1', maxKeysArg] = process.argv.slice(2)
const keys = Number(keysArg)
const requestsPerKey = Number(requestsArg)
const maxKeys = maxKeysArg === undefined ? Number.POSITIVE_INFINITY : Number(maxKeysArg)
const known = [...ALGORITHMS, PEER]
if (
  !known.includes(algorithm as Algorithm) ||
  !(keys > 0) ||
  !(requestsPerKey > 0) ||
  !(maxKeys > 0) ||
  (algorithm === PEER && maxKeysArg !== undefined)
) {
  process.stderr.write('usage: memory-per-key.ts <algorithm> <keys> <requestsPerKey> [maxKeys]\n')
  process.exit(2)
}
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  process.stderr.write('memory-per-key.ts needs node --expose-gc\n')
  process.exit(2)
}

function settledHeap(): number {
  // Two passes: the first can leave weak references and finalizers for the second.
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

const now = 1_700_000_000_000
// A limit no run reaches, so every request is admitted and kept (the sliding log's worst case).
const limit = 1_000_000
type Consume = (key: string) => Promise<unknown>

/** A fresh limiter of the measured kind; `close` stops its timers and drops its keys. */
function create(): { consume: Consume; size: () => number | undefined; close: () => void } {
  if (algorithm === PEER) {
    // The peer reads Date.now() and keeps a timer per key: both are part of its cost.
    const peer = new RateLimiterMemory({ points: limit, duration: 60 })
    return { consume: (key) => peer.consume(key), size: () => undefined, close: () => {} }
  }
  const limiter = createMemoryLimiter(
    { name: 'memory', algorithm: algorithm as Algorithm, limit, windowMs: 60_000 },
    { clock: () => now, sweepIntervalMs: 0, maxKeys }
  )
  return {
    consume: (key) => limiter.consume(key),
    size: () => limiter.size,
    close: () => limiter.close(),
  }
}

async function fill(consume: Consume, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const key = `ip:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
    for (let r = 0; r < requestsPerKey; r++) await consume(key)
  }
}

// A warm-up on a throw-away limiter first: the compiled code and the runtime's own buffers must
// not be counted as the keys' memory.
const warmUp = create()
await fill(warmUp.consume, Math.min(keys, 2_000))
warmUp.close()

const limiter = create()
const before = settledHeap()
await fill(limiter.consume, keys)
const after = settledHeap()
const expected = Math.min(keys, maxKeys)
const held = limiter.size() ?? keys
if (held !== expected) throw new Error(`expected ${expected} keys held, found ${held}`)
const heldBytes = after - before
process.stdout.write(
  `${JSON.stringify({
    algorithm,
    keys,
    requestsPerKey,
    maxKeys: Number.isFinite(maxKeys) ? maxKeys : null,
    held,
    heldBytes,
    bytesPerKey: heldBytes / held,
  })}\n`
)
limiter.close()
