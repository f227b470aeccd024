/**
 * Job deadlines for in-process processors, built into the Worker: at a job's deadline the
 * worker aborts the signal its processor was given and fails the job then, whether or not the
 * processor noticed. `cancelJob` does the same at once (a JobCancelledError, not retried).
 *
 * The processors can be one function, or one per job name. Like BullMQ, which makes a signal
 * only for a processor that declares it, this worker makes one only for a processor that
 * declares the signal parameter (function length ≥ 2): a processor that could not look at it
 * gets none, and still fails at its deadline.
 *
 * Why a Worker and not only a processor wrapper (`withTimeout`): a wrapper is handed BullMQ's
 * signal and cannot abort it, so it makes a second one per job and listens on BullMQ's to
 * forward cancellations; and a signal is dear on Node 20 (an AbortController's `signal` is about
 * 4.5 µs to create, plus its garbage). In the benchmark's worker scenario, this worker running a
 * no-op processor costs about the worker CPU per job of a bare BullMQ Worker; with the wrapper it
 * cost about a quarter more. `withTimeout` remains the form for a processor file, which has no
 * Worker to extend.
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

/** One processor for every job, or one per job name. */
export type Processors =
  CancellableProcessor<Job, unknown> | Record<string, CancellableProcessor<Job, unknown>>

/**
 * @example
 * ```ts
 * const worker = new TimeoutWorker(
 *   'reports',
 *   {
 *     render: async (job, signal) => render(job.data, { signal }),
 *     notify: async (job) => notify(job.data), // takes no signal: gets none
 *   },
 *   { connection, timeouts: { timeoutMs: (job) => job.data.timeoutMs ?? 30_000 } }
 * )
 * worker.cancelJob(jobId, 'operator asked') // fails the job now, not retried
 * ```
 */
export class TimeoutWorker extends Worker {
  readonly #timeouts: TimeoutOptions<Job>
  readonly #processorOf: (job: Job) => CancellableProcessor<Job, unknown> | undefined
  /** Fails a running attempt now (aborting its signal), by job id. */
  readonly #running = new Map<string, (error: Error) => void>()

  constructor(
    name: string,
    processors: Processors,
    { timeouts, ...options }: TimeoutWorkerOptions
  ) {
    // One parameter: BullMQ makes no signal of its own; #process makes the job's, if it needs one.
    super(name, (job: Job) => this.#process(job), options)
    this.#timeouts = timeouts
    this.#processorOf =
      typeof processors === 'function'
        ? () => processors
        : (job) => (Object.hasOwn(processors, job.name) ? processors[job.name] : undefined)
  }

  #process(job: Job): Promise<unknown> {
    const processor = this.#processorOf(job)
    if (!processor) {
      return Promise.reject(new UnrecoverableError(`no processor for jobs named ${job.name}`))
    }
    const { timeoutMs, retryOnTimeout = true } = this.#timeouts
    const deadline = typeof timeoutMs === 'function' ? timeoutMs(job) : timeoutMs
    const id = job.id!
    const controller = processor.length >= 2 ? new AbortController() : undefined
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
      const fail = (error: Error) => {
        if (settled) return
        settle()
        controller?.abort(error)
        const retry = typeof retryOnTimeout === 'function' ? retryOnTimeout(job) : retryOnTimeout
        reject(
          error instanceof JobTimeoutError && !retry ? new UnrecoverableError(error.message) : error
        )
      }
      this.#running.set(id, fail)
      if (deadline !== undefined) {
        timer = setTimeout(() => fail(new JobTimeoutError(deadline)), deadline)
      }
      // Async, so a processor that throws before it returns a promise rejects this one.
      const running = (async () => processor(job, controller?.signal as AbortSignal))()
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

  /** Aborts the job's signal and fails the job at once with a JobCancelledError. */
  override cancelJob(jobId: string, reason?: string): boolean {
    const fail = this.#running.get(jobId)
    fail?.(new JobCancelledError(reason ?? 'cancelled'))
    return fail !== undefined
  }

  override cancelAllJobs(reason?: string): void {
    for (const jobId of [...this.#running.keys()]) this.cancelJob(jobId, reason)
  }
}
