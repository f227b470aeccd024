import { createDeadlineQueue, type Deadline } from './deadline-queue.ts'
import { InvalidRequestError, StoreUnavailableError } from './errors.ts'

/** `up`: decisions go to the store. `down`: the outage policy decides, without asking it. */
export type StoreState = 'up' | 'down'

/** Options of `createStoreMonitor`; `ping` is required. */
export type StoreMonitorOptions = {
  /** One round trip to the store (ioredis: `() => redis.ping()`). */
  ping: () => Promise<unknown>
  /** Whether the connection is open right now (ioredis: `() => redis.status === 'ready'`).
   * Default: always. */
  connected?: () => boolean
  /** How long the store may stay silent, first to a call and then to a ping sent after it,
   * before it counts as down (default 500 ms). A busy event loop does not count: see below. */
  timeoutMs?: number
  /** Called on every change of state, with why; must not throw. */
  onChange?: (state: StoreState, reason: string) => void
}

/** Tells the limiters in front of one store (one connection) whether it answers. */
export interface StoreMonitor {
  readonly state: StoreState
  /** True when a call should go to the store: up and connected. A closed connection turns the
   * state down at once. */
  available(): boolean
  /** Settles as `call` does while the store answers. Rejects with StoreUnavailableError once the
   * store is found down; the call is then abandoned and may still complete later (a frozen Redis
   * runs it when it resumes), so a caller that must not count it twice undoes it then. */
  watch<T>(call: Promise<T>): Promise<T>
  /** A store call failed: ask the store now whether it is down (a script error is not). */
  reportFailure(error: unknown): void
  /** Asks the store now (a readiness check); resolves true when it answered in time. */
  check(): Promise<boolean>
  /** Stops the timers. */
  close(): void
}

type Watch = {
  deadline: Deadline | undefined
  done: boolean
  abandon: () => void
}

/**
 * Decides when a store (Redis) is down, for every resilient limiter in front of it: by the
 * connection's state, and by the store failing to answer, never by a busy event loop.
 *
 * A call that has waited `timeoutMs` is not given up on: it makes the monitor ping the store, and
 * only a store that has answered nothing (neither that ping nor any other call) for another
 * `timeoutMs` is down. That verdict is read in the event loop's check phase, after the poll phase
 * has read whatever the store sent meanwhile. So a process whose loop was blocked for a second
 * finds the replies that arrived during the block and keeps the store's decisions; only a store
 * that is frozen (SIGSTOP, a partition, a long-running script) or gone is ever declared down.
 *
 * Down, every call waiting on the store is abandoned at once and `available()` is false until a
 * ping (one every `timeoutMs`, unref'd) is answered again.
 * @example
 * const monitor = createStoreMonitor({ ping: () => redis.ping(), connected: () => redis.status === 'ready' })
 * const limiter = createResilientLimiter(createRedisLimiter(policy, { redis }), { onStoreFailure: 'insurance', monitor })
 */
export function createStoreMonitor({
  ping,
  connected = () => true,
  timeoutMs = 500,
  onChange,
}: StoreMonitorOptions): StoreMonitor {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`timeoutMs must be a positive number, got ${String(timeoutMs)}`)
  }
  const deadlines = createDeadlineQueue(timeoutMs)
  let state: StoreState = 'up'
  /** performance.now() of the store's latest answer (a call or a ping resolved). */
  let lastAnswerAt = Number.NEGATIVE_INFINITY
  let probing: Promise<boolean> | undefined
  let recovery: ReturnType<typeof setInterval> | undefined
  /** Calls past their deadline, waiting for the ping's verdict. */
  let suspects: Watch[] = []

  function setState(next: StoreState, reason: string): void {
    if (state === next) return
    state = next
    if (next === 'down') {
      recovery ??= setInterval(() => void probe(), timeoutMs).unref()
      // Nothing waits on a store that is down: every open call gets the outage policy now.
      deadlines.expireAll()
      for (const watch of suspects.splice(0)) watch.abandon()
    } else if (recovery !== undefined) {
      clearInterval(recovery)
      recovery = undefined
    }
    onChange?.(next, reason)
  }

  /** One ping at a time; true when the store answered anything within timeoutMs of it. */
  function probe(): Promise<boolean> {
    probing ??= new Promise<boolean>((resolve) => {
      if (!connected()) {
        resolve(false)
        return
      }
      const sentAt = performance.now()
      // setImmediate: judged after the poll phase, so replies that arrived while this process
      // was busy are read first.
      const timer = setTimeout(() => setImmediate(() => finish(lastAnswerAt >= sentAt)), timeoutMs)
      const finish = (alive: boolean) => {
        clearTimeout(timer)
        resolve(alive)
      }
      ping().then(
        () => {
          lastAnswerAt = performance.now()
          finish(true)
        },
        () => finish(false)
      )
    }).then((alive) => {
      probing = undefined
      if (alive && connected()) setState('up', 'the store answered')
      else if (!alive) setState('down', `the store did not answer within ${timeoutMs} ms`)
      return alive
    })
    return probing
  }

  function expired(watch: Watch): void {
    if (state === 'down') {
      watch.abandon()
      return
    }
    suspects.push(watch)
    if (suspects.length > 1) return // the ping is on its way
    void probe().then((alive) => {
      const waiting = suspects
      suspects = []
      for (const suspect of waiting) {
        if (suspect.done) continue
        // Alive: the store is working through its queue; keep waiting for this call's answer.
        if (alive) suspect.deadline = deadlines.track(() => expired(suspect))
        else suspect.abandon()
      }
    })
  }

  function available(): boolean {
    if (state === 'down') return false
    if (connected()) return true
    setState('down', 'the connection is not ready')
    return false
  }

  return {
    get state() {
      return state
    },

    available,

    watch<T>(call: Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const watch: Watch = {
          deadline: undefined,
          done: false,
          abandon() {
            if (watch.done) return
            watch.done = true
            reject(new StoreUnavailableError(`Rate limit store did not answer (${state})`))
          },
        }
        watch.deadline = deadlines.track(() => expired(watch))
        call.then(
          (value) => {
            lastAnswerAt = performance.now()
            if (watch.done) return
            watch.done = true
            deadlines.settle(watch.deadline as Deadline)
            resolve(value)
          },
          (error: Error) => {
            if (watch.done) return
            watch.done = true
            deadlines.settle(watch.deadline as Deadline)
            reject(error)
          }
        )
      })
    },

    reportFailure(error) {
      if (state === 'down' || error instanceof InvalidRequestError) return
      void probe()
    },

    check() {
      return available() ? probe() : Promise.resolve(false)
    },

    close() {
      if (recovery !== undefined) clearInterval(recovery)
      recovery = undefined
    },
  }
}
