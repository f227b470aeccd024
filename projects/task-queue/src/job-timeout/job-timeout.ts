/**
 * Job timeouts for BullMQ, which has none in its open-source edition (taskforcesh/bullmq#136,
 * #1930): `withTimeout` gives the processor an AbortSignal that fires at the deadline, and fails
 * the job at the deadline whether or not the processor noticed.
 *
 * The signal is the only way to stop work in JavaScript: a promise cannot be killed. A
 * processor that passes the signal to what it awaits (`fetch(url, { signal })`, timers from
 * `node:timers/promises`, `signal.throwIfAborted()` between steps) stops there, and nothing it
 * would have done after the deadline happens. Code that cannot look at a signal (a CPU loop in a
 * library) belongs in a sandboxed processor, in a process that can be killed: SandboxedWorker
 * (sandboxed-worker.ts) kills the job's child at the deadline.
 *
 * For a Worker you create, TimeoutWorker (timeout-worker.ts) does the same with one signal per
 * job instead of two, and none for a processor that takes none (measured there); this wrapper is
 * the form for a processor file, which has no Worker to extend.
 *
 * The same signal also fires when BullMQ cancels the job (`worker.cancelJob(id)`, used by the
 * service's cancel endpoint): the job then fails with a JobCancelledError, which is not retried.
 */
import { UnrecoverableError, type Job } from 'bullmq'

/** The job ran past its deadline. Retried like any failure unless `retryOnTimeout` is false. */
export class JobTimeoutError extends Error {
  readonly timeoutMs: number

  constructor(timeoutMs: number) {
    super(`job timed out after ${timeoutMs} ms`)
    this.name = this.constructor.name
    this.timeoutMs = timeoutMs
  }
}

/** The job was cancelled while running; BullMQ does not retry it (an UnrecoverableError). */
export class JobCancelledError extends UnrecoverableError {
  constructor(reason: string) {
    super(`job cancelled: ${reason}`)
    this.name = this.constructor.name
  }
}

/**
 * A processor that is handed the signal to honour. `J` is BullMQ's Job, or the SandboxedJob a
 * sandboxed processor receives.
 */
export type CancellableProcessor<J, R> = (job: J, signal: AbortSignal) => Promise<R>

export type TimeoutOptions<J> = {
  /** The deadline in ms, fixed or per job (e.g. from its options); undefined: none. */
  timeoutMs: number | ((job: J) => number | undefined)
  /** Retry a job that timed out (default true); false fails it at once. Fixed or per job. */
  retryOnTimeout?: boolean | ((job: J) => boolean)
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message
  return typeof reason === 'string' ? reason : 'cancelled'
}

/**
 * Wraps a processor so that it runs with a deadline. Returns a BullMQ processor with the
 * `(job, token, signal)` signature, so BullMQ hands it its own cancellation signal.
 *
 * @example
 * ```ts
 * const worker = new Worker(
 *   'reports',
 *   withTimeout(async (job, signal) => render(job.data, { signal }), { timeoutMs: 30_000 }),
 *   { connection }
 * )
 * ```
 */
export function withTimeout<R, J = Job>(
  processor: CancellableProcessor<J, R>,
  { timeoutMs, retryOnTimeout = true }: TimeoutOptions<J>
): (job: J, token?: string, signal?: AbortSignal) => Promise<R> {
  return async function processWithTimeout(job, _token, cancel) {
    const deadline = typeof timeoutMs === 'function' ? timeoutMs(job) : timeoutMs
    const controller = new AbortController()
    const onCancel = () => controller.abort(new JobCancelledError(reasonText(cancel?.reason)))
    if (cancel?.aborted) onCancel()
    cancel?.addEventListener('abort', onCancel, { once: true })
    const timer =
      deadline === undefined
        ? undefined
        : setTimeout(() => controller.abort(new JobTimeoutError(deadline)), deadline)

    let stop: (() => void) | undefined
    // Rejects with the abort reason the moment the signal fires, so the job fails at the
    // deadline even if the processor never looks at the signal.
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(controller.signal.reason as Error)
      if (controller.signal.aborted) return fail()
      controller.signal.addEventListener('abort', fail, { once: true })
      stop = () => controller.signal.removeEventListener('abort', fail)
    })
    try {
      return await Promise.race([processor(job, controller.signal), aborted])
    } catch (error) {
      // The processor's own rejection (an AbortError from fetch, say) is replaced by the cause.
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : error
      const retry = typeof retryOnTimeout === 'function' ? retryOnTimeout(job) : retryOnTimeout
      if (reason instanceof JobTimeoutError && !retry) {
        throw new UnrecoverableError(reason.message)
      }
      throw reason
    } finally {
      clearTimeout(timer)
      stop?.()
      cancel?.removeEventListener('abort', onCancel)
    }
  }
}
