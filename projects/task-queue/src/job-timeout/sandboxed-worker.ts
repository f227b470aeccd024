/**
 * Job deadlines for sandboxed processors that hold even for work deaf to its signal: a BullMQ
 * Worker whose processor is a file run in child processes, where the child running a job is
 * killed (SIGKILL) at the job's deadline. `withTimeout` can only ask a processor to stop; a
 * process can be made to.
 *
 * BullMQ keeps its children in a pool and gives a finished child the next job. A job that timed
 * out in its child (a promise raced against a timer) leaves any work it ignored running there,
 * into the next job, and a CPU loop keeps the child's own timer from ever firing. Here the
 * parent owns the deadline: it counts from the moment the job's child is taken from the pool,
 * and at the deadline that child is killed and never returned to the pool; the next job gets a
 * fresh one. The processor file itself should run without a deadline of its own (BullMQ still
 * signals it on `worker.cancelJob`).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { UnrecoverableError, Worker, type Child, type Job, type WorkerOptions } from 'bullmq'
import { JobTimeoutError, type TimeoutOptions } from './job-timeout.ts'

/** What BullMQ's ChildPool does that the deadline needs (a private field of Worker). */
type Pool = {
  retain(processFile: string): Promise<Child>
  release(child: Child): void
  kill(child: Child, signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>
}

/** One attempt of one job: its child once retained, and its deadline. */
type Attempt = {
  deadlineMs: number | undefined
  child?: Child
  /** The attempt has ended (or its child was handed back): the child is no longer its to kill. */
  released: boolean
  killed: boolean
  expire(error: Error): void
  timer?: NodeJS.Timeout
}

export type SandboxedWorkerOptions = WorkerOptions & {
  /** The deadline of each job (from when its child starts it), and whether a timeout retries. */
  timeouts: TimeoutOptions<Job>
}

/**
 * @example
 * ```ts
 * const worker = new SandboxedWorker('reports', new URL('./render.js', import.meta.url), {
 *   connection,
 *   timeouts: { timeoutMs: (job) => job.data.timeoutMs ?? 30_000 },
 * })
 * ```
 */
export class SandboxedWorker extends Worker {
  readonly #timeouts: TimeoutOptions<Job>
  readonly #attempts = new AsyncLocalStorage<Attempt>()
  readonly #owners = new WeakMap<Child, Attempt>()

  constructor(name: string, processorFile: string | URL, options: SandboxedWorkerOptions) {
    const { timeouts, ...workerOptions } = options
    super(name, processorFile, workerOptions)
    this.#timeouts = timeouts
    const pool = (this as unknown as { childPool?: Pool }).childPool
    if (!pool) throw new Error('SandboxedWorker needs BullMQ’s child pool (a processor file)')
    this.#watch(pool)
  }

  /** Wraps the pool: a retained child is its attempt's, and a killed one is never reused. */
  #watch(pool: Pool): void {
    const retain = pool.retain.bind(pool)
    const release = pool.release.bind(pool)
    pool.retain = async (processFile) => {
      const attempt = this.#attempts.getStore()
      const child = await retain(processFile)
      if (!attempt) return child
      this.#owners.set(child, attempt)
      attempt.child = child
      if (attempt.deadlineMs !== undefined) {
        const deadlineMs = attempt.deadlineMs
        attempt.timer = setTimeout(() => {
          if (attempt.released) return
          attempt.killed = true
          this.#kill(pool, attempt)
          attempt.expire(new JobTimeoutError(deadlineMs))
        }, deadlineMs)
      }
      return child
    }
    pool.release = (child) => {
      const attempt = this.#owners.get(child)
      this.#owners.delete(child)
      if (attempt) {
        attempt.released = true
        clearTimeout(attempt.timer)
        // A child sent its result as it was being killed: it is dying, not free.
        if (attempt.killed) return
      }
      release(child)
    }
  }

  #kill(pool: Pool, attempt: Attempt): void {
    const child = attempt.child!
    // Stays its attempt's: if its last message still lands, release() sees it was killed.
    attempt.released = true
    void pool.kill(child, 'SIGKILL').catch(() => {})
  }

  protected override async callProcessJob(
    job: Job,
    token: string,
    signal?: AbortSignal
  ): Promise<unknown> {
    const { timeoutMs, retryOnTimeout = true } = this.#timeouts
    let expire!: (error: Error) => void
    const expired = new Promise<never>((_, reject) => (expire = reject))
    const attempt: Attempt = {
      deadlineMs: typeof timeoutMs === 'function' ? timeoutMs(job) : timeoutMs,
      released: false,
      killed: false,
      expire,
    }
    const running = this.#attempts.run(attempt, () => super.callProcessJob(job, token, signal))
    // Once killed, the child's exit rejects `running` too; the deadline's error is the answer.
    running.catch(() => {})
    try {
      return await Promise.race([running, expired])
    } catch (error) {
      if (!attempt.killed) throw error
      const retry = typeof retryOnTimeout === 'function' ? retryOnTimeout(job) : retryOnTimeout
      const timeout = new JobTimeoutError(attempt.deadlineMs!)
      throw retry ? timeout : new UnrecoverableError(timeout.message)
    } finally {
      clearTimeout(attempt.timer)
    }
  }
}
