import { decision, type AlgorithmModule } from './algorithm.ts'

/**
 * Every admitted request still inside the window, oldest first: `times[i]` (ms) and `costs[i]`
 * from index `head` on (a queue without shifting), and their sum.
 */
export type SlidingLogState = {
  expiresAt: number
  times: number[]
  costs: number[]
  head: number
  total: number
}

/**
 * Sliding log: remembers each admitted request for windowMs and admits when the costs logged in
 * `(now - windowMs, now]` plus this cost fit the limit. Exact (never more than the limit in any
 * windowMs) at a memory cost proportional to the limit per key. Mirrors `sliding-log.lua`, where
 * the log is a sorted set scored by time.
 */
export const slidingLog: AlgorithmModule<SlidingLogState> = {
  create(_policy, now) {
    return { expiresAt: now, times: [], costs: [], head: 0, total: 0 }
  },

  consume(policy, state, now, cost) {
    const { limit, windowMs } = policy
    expire(state, now - windowMs)
    const { times, costs } = state
    if (state.total + cost > limit) {
      // Walk the oldest entries until enough cost would have left the window.
      const mustFree = state.total + cost - limit
      let freed = 0
      let i = state.head
      while (freed < mustFree) freed += costs[i++] as number
      return decision(
        policy,
        false,
        limit - state.total,
        (times[times.length - 1] as number) + windowMs - now,
        (times[i - 1] as number) + windowMs - now
      )
    }
    if (cost > 0) {
      times.push(now)
      costs.push(cost)
      state.total += cost
      state.expiresAt = now + windowMs
    }
    const newest = times.length > state.head ? (times[times.length - 1] as number) : now - windowMs
    return decision(policy, true, limit - state.total, newest + windowMs - now, 0)
  },

  refund(policy, state, now, cost) {
    expire(state, now - policy.windowMs)
    const { times, costs } = state
    // The newest entries go first: they are the ones the failed request just added.
    let left = cost
    while (left > 0 && costs.length > state.head) {
      const last = costs.length - 1
      const entry = costs[last] as number
      if (entry <= left) {
        left -= entry
        state.total -= entry
        costs.pop()
        times.pop()
      } else {
        costs[last] = entry - left
        state.total -= left
        left = 0
      }
    }
    state.expiresAt =
      costs.length > state.head ? (times[times.length - 1] as number) + policy.windowMs : now
  },
}

/** Drops entries logged at or before `cutoff` (they no longer count). */
function expire(state: SlidingLogState, cutoff: number): void {
  const { times, costs } = state
  let head = state.head
  while (head < times.length && (times[head] as number) <= cutoff) {
    state.total -= costs[head] as number
    head++
  }
  if (head === times.length) {
    times.length = 0
    costs.length = 0
    head = 0
  } else if (head > 64 && head * 2 > times.length) {
    // Compact now and then so the arrays do not keep dead entries forever.
    times.splice(0, head)
    costs.splice(0, head)
    head = 0
  }
  state.head = head
}
