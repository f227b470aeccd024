/**
 * Lets one event per key through every `intervalMs` (a user's typing indicator in a room): a
 * client that sends "typing" on every keystroke costs one broadcast per interval, not one per
 * key. Keys idle for an interval are forgotten on the next call, so memory follows the number
 * of people typing now.
 *
 * @example
 * ```ts
 * const typing = createThrottle({ intervalMs: 2000 })
 * if (typing.allow(`${room}:${user}`)) hub.publishEvent(room, JSON.stringify({ type: 'typing', room, user }))
 * ```
 */
export function createThrottle({
  intervalMs,
  now = Date.now,
}: {
  intervalMs: number
  now?: () => number
}): { allow(key: string): boolean; size(): number } {
  const last = new Map<string, number>()
  let nextPrune = now() + intervalMs
  return {
    allow(key) {
      const t = now()
      if (t >= nextPrune) {
        for (const [k, at] of last) if (t - at >= intervalMs) last.delete(k)
        nextPrune = t + intervalMs
      }
      const previous = last.get(key)
      if (previous !== undefined && t - previous < intervalMs) return false
      last.set(key, t)
      return true
    },
    size: () => last.size,
  }
}
