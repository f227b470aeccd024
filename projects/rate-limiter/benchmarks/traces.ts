/**
 * Scripted request traces replayed on the memory limiter with a fake clock: deterministic, so the
 * accuracy table and the bursty chart come out the same on every machine.
 */
import { createMemoryLimiter, type Policy } from '../src/limiter/index.ts'

/** A window edge (an epoch multiple of every window used here), as in algorithms.test.ts. */
export const EDGE = 1_700_000_000_000

/** One request: its arrival time in ms (several may share one ms). */
export type Trace = readonly number[]

/** `count` requests at one instant. */
function burst(t: number, count: number): number[] {
  return Array.from({ length: count }, () => t)
}

/** `rate` requests per second, evenly spaced over `[from, from + durationMs)`, whole ms. */
export function steady(from: number, durationMs: number, rate: number): number[] {
  const count = Math.round((durationMs * rate) / 1000)
  return Array.from({ length: count }, (_, i) => from + Math.floor((i * 1000) / rate))
}

/**
 * The traces of the accuracy table, for a policy of `limit` per `windowMs`:
 * - edge: 1.5x the limit 1 ms before a window edge, 1.5x again on it;
 * - flood: after idling, 10x the rate for three windows (a full bucket, then the refill);
 * - pack-then-trickle: the limit in a window's last ms, then one request per ms (the sliding
 *   window counter's worst case).
 */
export function accuracyTraces({ limit, windowMs }: Policy): Record<string, Trace> {
  return {
    edge: [...burst(EDGE - 1, limit * 1.5), ...burst(EDGE, limit * 1.5)],
    flood: steady(EDGE, windowMs * 3, (limit * 10 * 1000) / windowMs),
    'pack-then-trickle': [
      ...burst(EDGE - 1, limit),
      ...Array.from({ length: windowMs }, (_, i) => EDGE + i),
    ],
  }
}

/** Replays `trace` (sorted) against a fresh memory limiter on a fake clock; the admitted times. */
export async function replay(policy: Policy, trace: Trace): Promise<number[]> {
  let now = trace[0] ?? EDGE
  const limiter = createMemoryLimiter(policy, { clock: () => now, sweepIntervalMs: 0 })
  const admitted: number[] = []
  for (const t of trace) {
    now = t
    if ((await limiter.consume('client')).allowed) admitted.push(t)
  }
  limiter.close()
  return admitted
}

/** The most admitted requests in any interval `[t, t + windowMs)` (times sorted). */
export function maxInAnyWindow(times: readonly number[], windowMs: number): number {
  let most = 0
  let start = 0
  for (let end = 0; end < times.length; end++) {
    while ((times[end] as number) - (times[start] as number) >= windowMs) start++
    most = Math.max(most, end - start + 1)
  }
  return most
}

/** How many of `times` fall in each `bucketMs` slice of `[from, to)`. */
export function countPerBucket(
  times: readonly number[],
  from: number,
  to: number,
  bucketMs: number
): number[] {
  const counts = new Array<number>(Math.ceil((to - from) / bucketMs)).fill(0)
  for (const t of times) {
    const bucket = Math.floor((t - from) / bucketMs)
    if (bucket >= 0 && bucket < counts.length) counts[bucket] = (counts[bucket] as number) + 1
  }
  return counts
}
