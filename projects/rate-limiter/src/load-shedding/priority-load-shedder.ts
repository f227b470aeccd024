/**
 * Stripe's fleet-usage load shedder ("Scaling your API with rate limiters"): each process admits
 * at most `capacity` requests in flight; critical traffic may use all of it, every other
 * priority only `capacity * (1 - reservedShare)`. When the process fills up, non-critical
 * requests are shed first (503 `temporary-reduced-capacity`) and the reserved share keeps
 * critical ones (payments, health of the business) flowing.
 *
 * In-process and synchronous by design: shedding must cost nothing, and it protects this
 * process, so no shared store is involved.
 *
 * @example
 * const shedder = createPriorityLoadShedder({ capacity: 200 })
 * const release = shedder.tryAcquire(isCritical ? 'critical' : 'normal')
 * if (release === undefined) return serviceUnavailable()
 * try { return await next() } finally { release() }
 */

export type Priority = 'critical' | 'normal'

export type LoadShedderOptions = {
  /** Requests this process serves at once (positive integer). */
  capacity: number
  /** Share of `capacity` only critical traffic may use, in [0, 1). Stripe reserves 20 %. */
  reservedShare?: number
}

export interface PriorityLoadShedder {
  readonly capacity: number
  /** In-flight limit for non-critical traffic: `floor(capacity * (1 - reservedShare))`. */
  readonly normalCapacity: number
  readonly inFlight: number
  /** A release function when admitted (call it once, when the response is done), else undefined. */
  tryAcquire(priority: Priority): (() => void) | undefined
}

export class InvalidLoadShedderError extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}

export function createPriorityLoadShedder({
  capacity,
  reservedShare = 0.2,
}: LoadShedderOptions): PriorityLoadShedder {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new InvalidLoadShedderError(`capacity must be a positive integer, got ${capacity}`)
  }
  if (!(reservedShare >= 0 && reservedShare < 1)) {
    throw new InvalidLoadShedderError(`reservedShare must be in [0, 1), got ${reservedShare}`)
  }
  const normalCapacity = Math.floor(capacity * (1 - reservedShare))
  let inFlight = 0

  return {
    capacity,
    normalCapacity,
    get inFlight() {
      return inFlight
    },
    tryAcquire(priority) {
      const ceiling = priority === 'critical' ? capacity : normalCapacity
      if (inFlight >= ceiling) return undefined
      inFlight++
      let released = false
      return () => {
        if (released) return
        released = true
        inFlight--
      }
    },
  }
}
