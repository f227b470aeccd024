import { once, type EventEmitter } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'

/** Thrown by `waitFor` and `onceEvent` when the awaited state or event did not come in time. */
export class WaitTimeoutError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = this.constructor.name
  }
}

/**
 * Polls `check` until it returns a truthy value, which is returned. A `check` that throws
 * counts as "not yet"; its last error becomes the timeout error's `cause`. Use it for states
 * that emit no event (a key expired, a port closed); await the event when there is one.
 *
 * @example
 * ```ts
 * const value = await waitFor(() => redis.get(key), { message: `${key} was never written` })
 * ```
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  {
    timeoutMs = 5000,
    intervalMs = 20,
    message = 'Condition not met',
  }: { timeoutMs?: number; intervalMs?: number; message?: string } = {}
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value
    } catch (error) {
      lastError = error
    }
    if (performance.now() >= deadline) {
      throw new WaitTimeoutError(`${message} (waited ${timeoutMs} ms)`, { cause: lastError })
    }
    await delay(intervalMs)
  }
}

/**
 * Resolves with the arguments of the next `event` on `emitter` (node:events `once`, so an
 * 'error' event rejects); rejects with a WaitTimeoutError after `timeoutMs`.
 *
 * @example
 * ```ts
 * const [channel, message] = await onceEvent(subscriber, 'message')
 * ```
 */
export async function onceEvent(
  emitter: EventEmitter,
  event: string,
  timeoutMs = 5000
): Promise<unknown[]> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    return (await once(emitter, event, { signal })) as unknown[]
  } catch (error) {
    if (signal.aborted) {
      throw new WaitTimeoutError(`No '${event}' event within ${timeoutMs} ms`, { cause: error })
    }
    throw error
  }
}
