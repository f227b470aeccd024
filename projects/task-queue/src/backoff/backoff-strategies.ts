/**
 * Named retry schedules for BullMQ. A job names its schedule in `opts.backoff.type`; the
 * worker's `settings.backoffStrategy` (built by `createBackoffStrategy`) computes each delay.
 *
 * - `fixed`: the same delay every time.
 * - `exponential`: delay × 2^(n-1). Retries of jobs that failed together stay together, so a
 *   recovering dependency is hit by every retry at the same instants.
 * - `full-jitter`: a uniform draw in [0, exponential delay] (AWS Architecture Blog, "Exponential
 *   Backoff And Jitter"): the herd spreads over the whole window, the fewest calls overall.
 * - `table`: one delay per attempt from a list, the last repeated (Svix's and Sidekiq's style:
 *   an operator reads the schedule instead of computing it).
 *
 * BullMQ resolves `fixed` and `exponential` itself (its built-ins, the same formulas, checked
 * equal in the tests) and calls the custom strategy only for the other names; the four are kept
 * here together so that a schedule can be printed, charted and tested by name.
 */
import type { BackoffStrategy } from 'bullmq'

/** Parameters of a schedule, stored in the job's `opts.backoff`. */
export type BackoffOptions = {
  /** Base delay in ms (fixed, exponential, full-jitter). */
  delay?: number
  /** Largest delay in ms (full-jitter); default none. BullMQ's own exponential has no cap. */
  maxDelay?: number
  /** Delays in ms by retry (table); the last one repeats. */
  delays?: number[]
}

/** Computes the delay before retry number `attempt` (1 for the first retry). */
export type DelayFunction = (
  attempt: number,
  options: BackoffOptions,
  random: () => number
) => number

function exponential(attempt: number, delay: number, maxDelay = Infinity): number {
  // BullMQ rounds its exponential delay; 2 ** 1024 is Infinity, so cap the exponent first.
  return Math.min(maxDelay, Math.round(delay * 2 ** Math.min(attempt - 1, 52)))
}

/** The schedules by name. */
export const BACKOFF_STRATEGIES = {
  fixed: (_attempt, { delay = 1000 }) => delay,
  exponential: (attempt, { delay = 1000 }) => exponential(attempt, delay),
  'full-jitter': (attempt, { delay = 1000, maxDelay }, random) =>
    Math.floor(random() * exponential(attempt, delay, maxDelay)),
  table: (attempt, { delays = [] }) => {
    if (delays.length === 0) return 0
    return delays[Math.min(attempt, delays.length) - 1] ?? 0
  },
} satisfies Record<string, DelayFunction>

export type BackoffName = keyof typeof BACKOFF_STRATEGIES

export const BACKOFF_NAMES = Object.keys(BACKOFF_STRATEGIES) as BackoffName[]

/** The delay before retry `attempt` of schedule `name`; undefined for an unknown name. */
export function backoffDelay(
  name: string,
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random
): number | undefined {
  const strategy = (BACKOFF_STRATEGIES as Record<string, DelayFunction>)[name]
  return strategy?.(attempt, options, random)
}

/**
 * A BullMQ `settings.backoffStrategy` that serves every named schedule. BullMQ calls it with
 * the number of attempts made so far and the job, whose `opts.backoff` holds the parameters.
 * An unknown name answers -1, which BullMQ reads as "do not retry": the job fails at once
 * instead of retrying on a schedule nobody chose.
 *
 * @example
 * ```ts
 * const worker = new Worker('mail', process, {
 *   connection,
 *   settings: { backoffStrategy: createBackoffStrategy() },
 * })
 * await queue.add('send', data, {
 *   attempts: 5,
 *   backoff: { type: 'full-jitter', delay: 1000, maxDelay: 60_000 } as BackoffOptions,
 * })
 * ```
 */
export function createBackoffStrategy({
  random = Math.random,
}: { random?: () => number } = {}): BackoffStrategy {
  return function namedBackoff(attemptsMade, type, _err, job) {
    const options = (job?.opts.backoff ?? {}) as BackoffOptions
    return backoffDelay(type ?? 'fixed', attemptsMade, options, random) ?? -1
  }
}
