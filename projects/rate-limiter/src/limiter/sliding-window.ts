import { decision, type AlgorithmModule } from './algorithm.ts'

/** Counts of the current and the previous aligned window. */
export type SlidingWindowState = {
  expiresAt: number
  window: number
  current: number
  previous: number
}

/**
 * Sliding window counter (Cloudflare's "approximating a sliding window", upstash
 * `slidingWindow`): the previous window's count weighted by the share of it still inside the
 * sliding window, plus the current count:
 *
 *   estimate = previous * (windowMs - elapsed) / windowMs + current
 *
 * Admits when estimate + cost <= limit. Compared in integers, multiplied out by windowMs, so the
 * memory and Lua versions agree to the unit. Two counters per key whatever the rate; exact when
 * traffic is even, and an adversary who packs a whole limit at the very end of one window can
 * still approach 2x within one windowMs (README, "Accuracy"). Mirrors `sliding-window.lua`.
 */
export const slidingWindow: AlgorithmModule<SlidingWindowState> = {
  create(policy, now) {
    const window = Math.floor(now / policy.windowMs)
    return { expiresAt: (window + 1) * policy.windowMs, window, current: 0, previous: 0 }
  },

  consume(policy, state, now, cost) {
    const { limit, windowMs } = policy
    roll(state, Math.floor(now / windowMs))
    const start = state.window * windowMs
    const left = start + windowMs - now
    const { current, previous } = state
    // estimate * windowMs, exact in integers.
    const weighted = previous * left + current * windowMs
    const allowed = weighted + cost * windowMs <= limit * windowMs
    if (!allowed) {
      return decision(
        policy,
        false,
        Math.max(0, Math.floor((limit * windowMs - weighted) / windowMs)),
        current > 0 ? left + windowMs : left,
        retryAfter(limit, windowMs, left, current, previous, cost)
      )
    }
    state.current += cost
    state.expiresAt = state.current > 0 ? start + 2 * windowMs : start + windowMs
    return decision(
      policy,
      true,
      Math.floor((limit * windowMs - weighted - cost * windowMs) / windowMs),
      state.current > 0 ? left + windowMs : previous > 0 ? left : 0,
      0
    )
  },

  refund(policy, state, now, cost) {
    roll(state, Math.floor(now / policy.windowMs))
    const fromCurrent = Math.min(cost, state.current)
    state.current -= fromCurrent
    state.previous = Math.max(0, state.previous - (cost - fromCurrent))
  },
}

/** Moves the state to `window`: the current count becomes the previous one, or both reset. */
function roll(state: SlidingWindowState, window: number): void {
  if (state.window === window) return
  state.previous = state.window === window - 1 ? state.current : 0
  state.current = 0
  state.window = window
}

/**
 * Ms until `estimate + cost <= limit`, given a denial. Within this window the estimate falls as
 * the previous window slides out (only when current + cost fits); otherwise wait for the next
 * window, where today's count becomes the decaying "previous".
 */
function retryAfter(
  limit: number,
  windowMs: number,
  left: number,
  current: number,
  previous: number,
  cost: number
): number {
  if (current + cost <= limit) {
    // previous * (left - dt) + (current + cost) * windowMs <= limit * windowMs
    return left - Math.floor(((limit - current - cost) * windowMs) / previous)
  }
  // Next window, elapsed e: current * (windowMs - e) + cost * windowMs <= limit * windowMs
  return left + windowMs - Math.floor(((limit - cost) * windowMs) / current)
}
