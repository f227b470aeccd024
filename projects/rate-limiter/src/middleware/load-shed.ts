/**
 * Hono middleware around a priority load shedder (Stripe's fleet-usage load shedder): when this
 * process is full, non-critical requests get 503 `temporary-reduced-capacity` with
 * `Retry-After`, so the reserved share keeps serving critical ones.
 *
 * @example
 * app.use('/api/*', loadShed({ shedder, priority: (c) => (isCheckout(c) ? 'critical' : 'normal') }))
 */
import type { Context, Env, MiddlewareHandler } from 'hono'
import { sendProblem, temporaryReducedCapacity } from './problem-details.ts'
import type { LoadShedder, Priority } from './types.ts'

export type LoadShedEvent = { type: 'admitted' | 'shed'; priority: Priority; inFlight: number }

export type LoadShedOptions<E extends Env = Env> = {
  shedder: LoadShedder
  /** The request's priority. Derive it from something the client cannot forge in production
   * (the route, an authenticated caller); a bare header is only fit for a demo. */
  priority: (c: Context<E>) => Priority
  /** Seconds a shed client is told to wait (default 1). */
  retryAfterSeconds?: number
  onEvent?: (event: LoadShedEvent) => void
}

export function loadShed<E extends Env = Env>({
  shedder,
  priority,
  retryAfterSeconds = 1,
  onEvent,
}: LoadShedOptions<E>): MiddlewareHandler<E> {
  const retryAfter = String(Math.max(1, Math.ceil(retryAfterSeconds)))

  return async function loadShedMiddleware(c, next) {
    const level = priority(c)
    const release = shedder.tryAcquire(level)
    onEvent?.({ type: release ? 'admitted' : 'shed', priority: level, inFlight: shedder.inFlight })
    if (release === undefined) {
      const problem = temporaryReducedCapacity({
        code: 'load_shed',
        detail: `Shedding ${level} traffic: the server is at capacity.`,
      })
      return sendProblem(c, problem, { 'Retry-After': retryAfter })
    }
    try {
      await next()
    } finally {
      release()
    }
  }
}
