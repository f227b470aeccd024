/**
 * Job deadlines for in-process processors, built into the Worker: each job's processor gets
 * BullMQ's own cancellation signal, and at the deadline the worker cancels the job through it
 * (`cancelJob`), so a timeout and a cancellation reach the processor the same way. The job
 * fails at the deadline whether or not the processor noticed.
 *
 * Why a Worker and not only a processor wrapper (`withTimeout`): a wrapper cannot abort the
 * signal BullMQ hands it, so it makes a second AbortController per job and listens on BullMQ's
 * signal to forward cancellations. Here there is one signal per job and no listener; in the
 * benchmark's worker scenario that is about 15 µs of worker CPU per job less (a no-op job costs
 * BullMQ about 100). `withTimeout` remains the form for a processor file, which has no Worker
 * to extend.
 */
import { UnrecoverableError, Worker, type Job, type WorkerOptions } from 'bullmq'
import {
  JobCancelledError,
  JobTimeoutError,
  type CancellableProcessor,
  type TimeoutOptions,
} from './job-timeout.ts'

export type TimeoutWorkerOptions = WorkerOptions & {
  /** The deadline of each attempt (from when its processor starts), and whether it retries. */
  timeouts: TimeoutOptions<Job>
}

/**
 * @example
 * ```ts
 * const worker = new TimeoutWorker(
 *   'reports',
 *   async (job, signal) => render(job.data, { signal }),
 *   { connection, timeouts: { timeoutMs: (job) => job.data.timeoutMs ?? 30_000 } }
 * )
 * worker.cancelJob(jobId, 'operator asked') // fails the job now, not retried
 * ```
 */
export class TimeoutWorker extends Worker {
  readonly #timeouts: TimeoutOptions<Job>
  /** Fails a running attempt at once, by job id. */
  readonly #running = new Map<string, (error: Error) => void>()

  constructor(
    name: string,
    processor: CancellableProcessor<Job, unknown>,
    { timeouts, ...options }: TimeoutWorkerOptions
  ) {
    // Three parameters: BullMQ gives a processor that declares the signal one per job.
    super(
      name,
      (job: Job, _token?: string, signal?: AbortSignal) => processor(job, signal!),
      options
    )
    this.#timeouts = timeouts
  }

  protected override callProcessJob(
    job: Job,
    token: string,
    signal?: AbortSignal
  ): Promise<unknown> {
    const { timeoutMs, retryOnTimeout = true } = this.#timeouts
    const deadline = typeof timeoutMs === 'function' ? timeoutMs(job) : timeoutMs
    const id = job.id!
    return new Promise((resolve, reject) => {
      let settled = false
      let timer: NodeJS.Timeout | undefined
      const settle = () => {
        settled = true
        clearTimeout(timer)
        this.#running.delete(id)
      }
      // The deadline or a cancellation: the job fails now, with that reason, not the
      // processor's own rejection (an AbortError from fetch, say) when it notices.
      this.#running.set(id, (error) => {
        if (settled) return
        settle()
        const retry = typeof retryOnTimeout === 'function' ? retryOnTimeout(job) : retryOnTimeout
        reject(
          error instanceof JobTimeoutError && !retry ? new UnrecoverableError(error.message) : error
        )
      })
      if (deadline !== undefined) {
        timer = setTimeout(() => this.cancelJob(id, new JobTimeoutError(deadline)), deadline)
      }
      // Async, so a processor that throws before it returns a promise rejects this one.
      const running = (async (): Promise<unknown> => super.callProcessJob(job, token, signal))()
      running.then(
        (value) => {
          if (settled) return
          settle()
          resolve(value)
        },
        (error: Error) => {
          if (settled) return
          settle()
          reject(error)
        }
      )
    })
  }

  /**
   * Aborts the job's signal and fails the job at once. A string reason fails it with a
   * JobCancelledError (not retried); the deadline passes its JobTimeoutError.
   */
  override cancelJob(jobId: string, reason?: string | Error): boolean {
    const error = reason instanceof Error ? reason : new JobCancelledError(reason ?? 'cancelled')
    // BullMQ passes the reason to AbortController.abort, which takes any value.
    const cancelled = super.cancelJob(jobId, error as unknown as string)
    if (cancelled) this.#running.get(jobId)?.(error)
    return cancelled
  }

  override cancelAllJobs(reason?: string): void {
    for (const jobId of [...this.#running.keys()]) this.cancelJob(jobId, reason)
  }
}
