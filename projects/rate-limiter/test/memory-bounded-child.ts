// The measuring half of memory-bounded.test.ts, in its own `node --expose-gc` process so the
// heap holds only this limiter (not vitest's) and `gc()` is available. Prints one JSON line.
import { setTimeout as delay } from 'node:timers/promises'
import { createMemoryLimiter } from '../src/limiter/index.ts'

export type MemoryBoundedReport = {
  keys: number
  /** heapUsed after a full GC, before the limiter existed. */
  baselineBytes: number
  /** heapUsed after a full GC with every key held (shows the bound below can be exceeded). */
  filledBytes: number
  sizeAfterFill: number
  /** Keys left once the clock passed every window and the sweep timer ran. */
  sizeAfterIdle: number
  /** heapUsed after a full GC, the limiter still alive and referenced. */
  afterBytes: number
  fillMs: number
  /** Real time the background sweep took to empty the store. */
  sweepMs: number
}

const KEYS = 1_000_000
const WINDOW_MS = 1000
const IDLE_MS = 5000
const SWEEP_INTERVAL_MS = 100

const gc = globalThis.gc
if (gc === undefined) throw new Error('run with node --expose-gc')

function heapAfterGc(): number {
  // Twice: the first pass can leave objects that only a second one frees (weak/ephemeron chains).
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

const baselineBytes = heapAfterGc()

// The limiter's injected clock stands in for the idle period; the sweep timer itself is real.
// Its interval is shortened from the default 1 s so the default batch (50,000 keys a tick)
// clears 1,000,000 keys in ~2 s instead of 20 s.
let now = Date.now()
const limiter = createMemoryLimiter(
  { name: 'r9', algorithm: 'fixed-window', limit: 10, windowMs: WINDOW_MS },
  { clock: () => now, sweepIntervalMs: SWEEP_INTERVAL_MS }
)

const fillStart = performance.now()
for (let i = 0; i < KEYS; i++) await limiter.consume(`client-${i}`)
const fillMs = Math.round(performance.now() - fillStart)
const sizeAfterFill = limiter.size
const filledBytes = heapAfterGc()

now += IDLE_MS
const sweepStart = performance.now()
while (limiter.size > 0 && performance.now() - sweepStart < 15_000) await delay(20)
const sweepMs = Math.round(performance.now() - sweepStart)
// One more tick so the sweep finishes its pass and lets go of its Map iterator.
await delay(2 * SWEEP_INTERVAL_MS)
const sizeAfterIdle = limiter.size
const afterBytes = heapAfterGc()

const report: MemoryBoundedReport = {
  keys: KEYS,
  baselineBytes,
  filledBytes,
  sizeAfterFill,
  sizeAfterIdle,
  afterBytes,
  fillMs,
  sweepMs,
}
// Closed only now: until here the limiter and its Map stay reachable (its sweep timer holds them).
limiter.close()
console.log(JSON.stringify(report))
