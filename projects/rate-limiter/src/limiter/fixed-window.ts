import { decision, type AlgorithmModule } from './algorithm.ts'

/** Count of the current window; windows are aligned to epoch multiples of windowMs. */
export type FixedWindowState = { expiresAt: number; window: number; count: number }

/**
 * Fixed window: one counter per window `[k*windowMs, (k+1)*windowMs)`. Cheapest and easiest to
 * explain, but a client can spend its limit at the end of one window and again at the start of
 * the next: up to 2x the limit inside one windowMs around a boundary (measured in the tests).
 * Mirrors `fixed-window.lua`.
 */
export const fixedWindow: AlgorithmModule<FixedWindowState> = {
  create(policy, now) {
    const window = Math.floor(now / policy.windowMs)
    return { expiresAt: (window + 1) * policy.windowMs, window, count: 0 }
  },

  consume(policy, state, now, cost) {
    const { limit, windowMs } = policy
    const window = Math.floor(now / windowMs)
    if (state.window !== window) {
      state.window = window
      state.count = 0
    }
    const end = (window + 1) * windowMs
    state.expiresAt = end
    const allowed = state.count + cost <= limit
    if (allowed) state.count += cost
    return decision(policy, allowed, limit - state.count, end - now, allowed ? 0 : end - now)
  },

  refund(policy, state, now, cost) {
    if (state.window === Math.floor(now / policy.windowMs)) {
      state.count = Math.max(0, state.count - cost)
    }
  },
}
