import { decision, type AlgorithmModule } from './algorithm.ts'

/** Theoretical arrival time in whole microseconds (see `emissionIntervalUs`). */
export type GcraState = { expiresAt: number; tat: number }

/**
 * Emission interval T: the time one unit of quota takes to come back, in whole microseconds,
 * rounded up so the configured rate is never exceeded. Integers keep the memory and Lua
 * arithmetic identical (redis-cell works in integer nanoseconds for the same reason; doubles
 * hold epoch microseconds exactly, nanoseconds they do not).
 */
export function emissionIntervalUs(limit: number, windowMs: number): number {
  return Math.ceil((windowMs * 1000) / limit)
}

/**
 * GCRA, the generic cell rate algorithm ("leaky bucket as a meter", redis-cell `CL.THROTTLE`):
 * one timestamp per key, the theoretical arrival time (TAT) at which the bucket would be empty.
 * A request of cost c at `now` moves it to max(TAT, now) + c*T and is allowed when that lies at
 * most capacity*T ahead of `now`. Same limits as a token bucket of `burst ?? limit` refilled at
 * limit per windowMs, stored as one number, with redis-cell's reply semantics:
 * remaining = floor((capacity*T - (TAT - now)) / T), reset_after = TAT - now.
 * Mirrors `gcra.lua`.
 */
export const gcra: AlgorithmModule<GcraState> = {
  create(_policy, now) {
    return { expiresAt: now, tat: Math.floor(now * 1000) }
  },

  consume(policy, state, now, cost) {
    const interval = emissionIntervalUs(policy.limit, policy.windowMs)
    const tolerance = (policy.burst ?? policy.limit) * interval
    const nowUs = Math.floor(now * 1000)
    const tat = Math.max(state.tat, nowUs)
    const newTat = tat + cost * interval
    const allowAt = newTat - tolerance
    if (nowUs < allowAt) {
      const ttl = tat - nowUs
      return decision(
        policy,
        false,
        Math.max(0, Math.floor((tolerance - ttl) / interval)),
        Math.ceil(ttl / 1000),
        Math.ceil((allowAt - nowUs) / 1000)
      )
    }
    state.tat = newTat
    state.expiresAt = newTat / 1000
    const ttl = newTat - nowUs
    return decision(
      policy,
      true,
      Math.max(0, Math.floor((tolerance - ttl) / interval)),
      Math.ceil(ttl / 1000),
      0
    )
  },

  refund(policy, state, now, cost) {
    const interval = emissionIntervalUs(policy.limit, policy.windowMs)
    state.tat = Math.max(Math.floor(now * 1000), state.tat - cost * interval)
    state.expiresAt = state.tat / 1000
  },
}
