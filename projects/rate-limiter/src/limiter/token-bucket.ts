import { decision, type AlgorithmModule } from './algorithm.ts'
import type { Policy } from './types.ts'

/** Tokens in the bucket at `refilledAt` (ms). */
export type TokenBucketState = { expiresAt: number; tokens: number; refilledAt: number }

/** Float noise guard: `0.3 + 0.7` tokens must count as one whole token (same value in Lua). */
const EPSILON = 1e-9

/**
 * Token bucket (Stripe's request limiter): a bucket of `burst ?? limit` tokens refilled
 * continuously at `limit` per windowMs; a request takes `cost` tokens or is denied. Allows a
 * burst of the full bucket, then the steady rate: in any windowMs at most capacity + limit pass.
 * Two numbers per key. Mirrors `token-bucket.lua`.
 */
export const tokenBucket: AlgorithmModule<TokenBucketState> = {
  create(policy, now) {
    return { expiresAt: now, tokens: capacity(policy), refilledAt: now }
  },

  consume(policy, state, now, cost) {
    const { limit, windowMs } = policy
    const size = capacity(policy)
    refill(state, now, size, limit, windowMs)
    const allowed = state.tokens + EPSILON >= cost
    if (!allowed) {
      return decision(
        policy,
        false,
        Math.floor(state.tokens + EPSILON),
        msUntil(size, state.tokens, limit, windowMs),
        msUntil(cost, state.tokens, limit, windowMs)
      )
    }
    state.tokens = Math.max(0, state.tokens - cost)
    const resetMs = msUntil(size, state.tokens, limit, windowMs)
    state.expiresAt = now + resetMs
    return decision(policy, true, Math.floor(state.tokens + EPSILON), resetMs, 0)
  },

  refund(policy, state, now, cost) {
    const { limit, windowMs } = policy
    const size = capacity(policy)
    refill(state, now, size, limit, windowMs)
    state.tokens = Math.min(size, state.tokens + cost)
    state.expiresAt = now + msUntil(size, state.tokens, limit, windowMs)
  },
}

function capacity(policy: Policy): number {
  return policy.burst ?? policy.limit
}

/** Whole ms until the bucket holds `wanted` tokens, by the same EPSILON rule as admission, so
 * a request retried exactly then passes and one retried a millisecond earlier does not. */
function msUntil(wanted: number, tokens: number, limit: number, windowMs: number): number {
  return Math.max(0, Math.ceil(((wanted - tokens - EPSILON) * windowMs) / limit))
}

function refill(
  state: TokenBucketState,
  now: number,
  size: number,
  limit: number,
  windowMs: number
): void {
  const elapsed = now - state.refilledAt
  if (elapsed > 0) {
    state.tokens = Math.min(size, state.tokens + (elapsed * limit) / windowMs)
    state.refilledAt = now
  }
}
