import type { Decision, Policy } from './types.ts'

/** Every algorithm's state carries the instant after which it equals a fresh state, so the
 * memory store can drop it (lazily on access, or in its sweep) without changing any decision. */
export type AlgorithmState = { expiresAt: number }

/**
 * One algorithm as pure decision functions over a small state and an injected `now` (ms).
 * "Pure" here means deterministic: the result depends only on the arguments, and the only thing
 * changed is the state object passed in (mutated in place so a decision allocates one object).
 * The Redis backend runs the same arithmetic in the matching `.lua` file.
 */
export type AlgorithmModule<S extends AlgorithmState> = {
  /** A state equal to "no request seen". */
  create(policy: Policy, now: number): S
  /** Decides for `cost` (0 = peek) and, if allowed, consumes it. Cost is already validated. */
  consume(policy: Policy, state: S, now: number, cost: number): Decision
  /** Gives back `cost` units, never below empty. */
  refund(policy: Policy, state: S, now: number, cost: number): void
}

/** Builds a Decision with one fixed property order (one hidden class on the hot path). */
export function decision(
  policy: Policy,
  allowed: boolean,
  remaining: number,
  resetMs: number,
  retryAfterMs: number
): Decision {
  return { allowed, policy, remaining, resetMs, retryAfterMs }
}
