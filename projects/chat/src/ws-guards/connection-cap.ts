/**
 * At most `max` live connections per user on this instance. `acquire` before the upgrade
 * (refuse the handshake when it answers undefined), and call the release it returns once, when
 * the connection is gone, however it ends.
 *
 * @example
 * ```ts
 * const cap = createConnectionCap({ max: 5 })
 * const release = cap.acquire(user)
 * if (!release) return reject(429)
 * socket.once('close', release)
 * ```
 */
export function createConnectionCap({ max }: { max: number }) {
  const counts = new Map<string, number>()
  return {
    acquire(user: string): (() => void) | undefined {
      const count = counts.get(user) ?? 0
      if (count >= max) return undefined
      counts.set(user, count + 1)
      let released = false
      return () => {
        if (released) return
        released = true
        const left = (counts.get(user) ?? 1) - 1
        if (left === 0) counts.delete(user)
        else counts.set(user, left)
      }
    },
    count: (user: string) => counts.get(user) ?? 0,
  }
}
