/** A call being timed: `expire` runs at `at` (performance.now() ms) unless settled first. */
export type Deadline = { readonly at: number; open: boolean; readonly expire: () => void }

/**
 * Timeouts for many in-flight calls with ONE timer. Every call gets the same timeout, so the
 * deadlines arrive in start order and a FIFO is enough. That replaces a setTimeout +
 * clearTimeout per call (a few microseconds each on the rate limiter's hot path) with an array
 * push. The timer is armed only while calls are open. It uses the monotonic `performance.now()`,
 * so a wall clock that steps, or a fake clock in a test, cannot stretch a timeout.
 * @example
 * const deadlines = createDeadlineQueue(100)
 * const call = deadlines.track(() => reject(new Error('timed out')))
 * store.get(key).then((value) => deadlines.settle(call) && resolve(value))
 */
export function createDeadlineQueue(timeoutMs: number) {
  // Settled entries are cleared from the front at once, so they die young (cheap for the GC).
  const queue: (Deadline | undefined)[] = []
  let head = 0
  let timer: ReturnType<typeof setTimeout> | undefined

  /** Drops settled entries from the front; true when none is left. */
  function dropSettled(): boolean {
    while (head < queue.length && !(queue[head] as Deadline).open) queue[head++] = undefined
    if (head === queue.length) {
      queue.length = 0
      head = 0
      return true
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head)
      head = 0
    }
    return false
  }

  function arm(): void {
    if (dropSettled()) return
    if (timer === undefined) {
      const delay = Math.max(0, (queue[head] as Deadline).at - performance.now())
      timer = setTimeout(fire, delay)
    }
  }

  function fire(): void {
    timer = undefined
    const now = performance.now()
    while (head < queue.length) {
      const entry = queue[head] as Deadline
      if (entry.open) {
        if (entry.at > now) break
        entry.open = false
        entry.expire()
      }
      queue[head++] = undefined
    }
    arm()
  }

  return {
    /** Starts timing a call; `expire` runs once if `settle()` was not called within timeoutMs. */
    track(expire: () => void): Deadline {
      const deadline: Deadline = { at: performance.now() + timeoutMs, open: true, expire }
      queue.push(deadline)
      if (timer === undefined) arm()
      return deadline
    },

    /** Claims the call before its deadline: true once, false if it already expired (then the
     * outcome belongs to `expire`). */
    settle(deadline: Deadline): boolean {
      if (!deadline.open) return false
      deadline.open = false
      if (deadline === queue[head]) dropSettled()
      return true
    },

    /** Expires every open call now, in start order (the store was found down: stop waiting).
     * Calls tracked from an `expire` callback belong to a fresh queue. */
    expireAll(): void {
      const entries = queue.slice(head)
      queue.length = 0
      head = 0
      if (timer !== undefined) {
        clearTimeout(timer)
        timer = undefined
      }
      for (const entry of entries) {
        if (!(entry as Deadline).open) continue
        ;(entry as Deadline).open = false
        ;(entry as Deadline).expire()
      }
    },

    /** Calls still open (for tests). */
    get pending(): number {
      let open = 0
      for (let i = head; i < queue.length; i++) if ((queue[i] as Deadline).open) open++
      return open
    },
  }
}
