/**
 * A dead-letter queue for BullMQ. BullMQ keeps a job whose retries ran out in its queue's
 * `failed` set, beside the jobs that are still being retried, until `removeOnFail` deletes it
 * (taskforcesh/bullmq#2616); Sidekiq has a real Dead set. Here a job that has failed for good
 * moves to its own queue, `<name>-dead`, where it stays until it is replayed, purged, or aged
 * out by the retention policy.
 *
 * Why a BullMQ queue: its jobs keep their data, options, stack trace and attempts; Bull Board
 * shows it; and `jobId` deduplication makes every move idempotent. The dead queue is paused and
 * no worker listens to it: its jobs only wait.
 *
 * Nothing is lost between the two sets: a move adds the dead entry (id `dead-<job id>`: BullMQ
 * refuses integer custom ids, and auto-generated ids are integers) and only then
 * removes the failed job, so a crash in between leaves both, and the next sweep finishes the
 * move (the add is then ignored: the id exists). A replay adds the job back to the source queue
 * under a new id derived from the dead one, then removes the dead entry: two replays of one
 * entry, even at once, add one job.
 *
 * The failed set is the hand-off, so nothing but this module may trim it: a `removeOnFail`
 * count deletes the oldest failed jobs as others fail, often before their move has read them,
 * and those jobs are lost. Give the source's jobs no `removeOnFail` count and pass the cap as
 * `keepFailed`: it applies to the jobs that stay in `failed`, and a job past it that should die
 * is moved, never deleted.
 */
import type { ConnectionOptions, Job, JobsOptions, Queue, QueueOptions, Worker } from 'bullmq'
import { Queue as BullQueue } from 'bullmq'

/** What a dead entry keeps of the job that died, beside its original data (`job.data.data`). */
export type DeadLetter<T = unknown> = {
  data: T
  /** The id the job had in its source queue (every method of the DLQ takes this id). */
  jobId: string
  queue: string
  /** The options the job ran with (attempts, backoff, priority…), reused on replay. */
  opts: JobsOptions
  failedReason: string
  stacktrace: string[]
  attemptsMade: number
  /** When the job was first added and when it died (ms since the epoch). */
  createdAt: number
  diedAt: number
}

export type DeadLetterRetention = {
  /** Entries older than this are removed (default 30 days). */
  maxAgeMs?: number
  /** At most this many entries are kept, the newest (default 10,000, Sidekiq's cap). */
  maxCount?: number
}

export type DeadLetterQueueOptions = {
  /** The queue whose failed jobs die here. */
  source: Queue
  connection: ConnectionOptions
  /** Options of the dead queue (its prefix, for a Redis Cluster hash tag). */
  queueOptions?: Omit<QueueOptions, 'connection'>
  retention?: DeadLetterRetention
  /** Which failed jobs die (default: every one). E.g. leave cancelled jobs in `failed`. */
  shouldDeadLetter?: (job: Job) => boolean
  /**
   * At most this many jobs stay in the source's failed set, the newest (default: no cap). Use
   * it instead of a `removeOnFail` count, which would delete jobs before they move.
   */
  keepFailed?: number
  now?: () => number
}

export type ReplayResult =
  | { status: 'replayed'; jobId: string }
  | { status: 'already-replayed'; jobId: string }
  | { status: 'not-found' }

export type DeadLetterQueue = {
  /** The dead queue itself (for Bull Board, counts, metrics). */
  readonly queue: Queue<DeadLetter>
  /**
   * Moves one job if it sits in the source's failed set; true when it moved (or was moved).
   * A job that must not die stays there, and then `keepFailed` is applied.
   * Every method takes the job's id in its source queue.
   */
  move(jobId: string): Promise<boolean>
  /** Moves every job of the source's failed set; returns how many moved. */
  sweep(limit?: number): Promise<number>
  list(start?: number, end?: number): Promise<Job<DeadLetter>[]>
  get(jobId: string): Promise<Job<DeadLetter> | undefined>
  count(): Promise<number>
  /** Adds the job back to its source queue under a new id; idempotent. */
  replay(jobId: string): Promise<ReplayResult>
  /** Removes one entry, or all of them; returns how many were removed. */
  purge(jobId?: string): Promise<number>
  /** Applies the retention policy; returns how many entries were removed. */
  trim(): Promise<number>
  close(): Promise<void>
}

/** The id of a job's entry in the dead queue. */
export function deadIdOf(jobId: string): string {
  return `dead-${jobId}`
}

/** 'abc' → 'abc-r1', 'abc-r1' → 'abc-r2': the id a replay of a dead job runs under. */
export function replayIdOf(deadJobId: string): string {
  const match = /^(.*)-r(\d+)$/.exec(deadJobId)
  return match ? `${match[1]}-r${Number(match[2]) + 1}` : `${deadJobId}-r1`
}

/**
 * @example
 * ```ts
 * const dlq = createDeadLetterQueue({ source: queue, connection })
 * attachDeadLetter(worker, dlq) // moves each job as it dies; sweeps every 30 s
 * const [entry] = await dlq.list(0, 0)
 * await dlq.replay(entry.id!)
 * ```
 */
export function createDeadLetterQueue({
  source,
  connection,
  queueOptions = {},
  retention = {},
  shouldDeadLetter = () => true,
  keepFailed,
  now = Date.now,
}: DeadLetterQueueOptions): DeadLetterQueue {
  const { maxAgeMs = 30 * 24 * 3_600_000, maxCount = 10_000 } = retention
  const queue = new BullQueue<DeadLetter>(`${source.name}-dead`, { ...queueOptions, connection })
  // No worker takes dead jobs; paused, they are also never handed to one by mistake. Not
  // awaited: a service starting while Redis is away must not wait for it here.
  queue.pause().catch(() => {})

  /** Adds the dead entry, then removes the failed job: a crash in between leaves both. */
  async function bury(job: Job, jobId: string): Promise<void> {
    const letter: DeadLetter = {
      data: job.data,
      jobId,
      queue: source.name,
      opts: job.opts,
      failedReason: job.failedReason,
      stacktrace: job.stacktrace ?? [],
      attemptsMade: job.attemptsMade,
      createdAt: job.timestamp,
      diedAt: job.finishedOn ?? now(),
    }
    await queue.add(job.name, letter, { jobId: deadIdOf(jobId) })
    await job.remove()
  }

  /**
   * Removes the failed jobs past the newest `keepFailed`. One that should die is moved instead:
   * its own move may not have run yet (its worker crashed, or Redis failed the move).
   */
  async function capFailed(): Promise<void> {
    if (keepFailed === undefined) return
    for (const job of await source.getFailed(keepFailed)) {
      if (job.id === undefined) continue
      if (shouldDeadLetter(job)) await bury(job, job.id)
      else await job.remove()
    }
  }

  async function move(jobId: string): Promise<boolean> {
    const job = await source.getJob(jobId)
    if (job === undefined) return (await queue.getJob(deadIdOf(jobId))) !== undefined
    if ((await job.getState()) !== 'failed') return false
    if (!shouldDeadLetter(job)) {
      // It stays in failed, where such jobs pile up: the cap applies here.
      await capFailed()
      return false
    }
    await bury(job, jobId)
    return true
  }

  async function removeEntry(job: Job<DeadLetter>): Promise<number> {
    await job.remove()
    return 1
  }

  return {
    queue,
    move,
    async sweep(limit = 1000) {
      const failed = await source.getFailed(0, limit - 1)
      let moved = 0
      for (const job of failed) if (job.id && (await move(job.id))) moved++
      return moved
    },
    list(start = 0, end = 49) {
      return queue.getJobs(['wait'], start, end)
    },
    get: (jobId) => queue.getJob(deadIdOf(jobId)),
    count: () => queue.getJobCountByTypes('wait'),
    async replay(jobId) {
      const replayId = replayIdOf(jobId)
      const entry = await queue.getJob(deadIdOf(jobId))
      if (entry === undefined) {
        return (await source.getJob(replayId)) === undefined
          ? { status: 'not-found' }
          : { status: 'already-replayed', jobId: replayId }
      }
      const { attempts, backoff, priority, removeOnComplete } = entry.data.opts
      // A fresh run: its attempts start at 0 and it is not delayed again. Not its removeOnFail:
      // an entry from before `keepFailed` may carry a count, which would trim failed jobs.
      await source.add(entry.name, entry.data.data, {
        jobId: replayId,
        ...(attempts !== undefined && { attempts }),
        ...(backoff !== undefined && { backoff }),
        ...(priority !== undefined && { priority }),
        ...(removeOnComplete !== undefined && { removeOnComplete }),
      })
      await entry.remove()
      return { status: 'replayed', jobId: replayId }
    },
    async purge(jobId) {
      if (jobId !== undefined) {
        const job = await queue.getJob(deadIdOf(jobId))
        return job ? removeEntry(job) : 0
      }
      const count = await queue.getJobCountByTypes('wait')
      await queue.drain()
      return count
    },
    async trim() {
      // clean() removes entries by the time they were added here, the time they died.
      const expired = await queue.clean(maxAgeMs, 10_000, 'wait')
      let removed = expired.length
      const total = await queue.getJobCountByTypes('wait')
      if (total > maxCount) {
        // The wait list holds the newest first: everything past maxCount is the oldest.
        for (const job of await queue.getJobs(['wait'], maxCount, total - 1)) {
          removed += await removeEntry(job)
        }
      }
      return removed
    },
    close: () => queue.close(),
  }
}

/**
 * Moves each job to the dead-letter queue as it fails for good (BullMQ sets `finishedOn` only
 * then; a failure that will be retried has none), and sweeps the failed set on an interval for
 * the moves a crash interrupted. Returns a function that stops both. Throws if the worker has a
 * `removeOnFail` count: it would delete failed jobs before they move (use `keepFailed`).
 *
 * @example
 * ```ts
 * const stop = attachDeadLetter(worker, dlq, { sweepIntervalMs: 30_000, onError: log })
 * // on shutdown, before worker.close():
 * stop()
 * ```
 */
export function attachDeadLetter(
  worker: Worker,
  dlq: DeadLetterQueue,
  {
    sweepIntervalMs = 30_000,
    onError = () => {},
  }: { sweepIntervalMs?: number; onError?: (error: unknown) => void } = {}
): () => void {
  const keep = worker.opts.removeOnFail
  if (keep !== undefined && 'count' in keep) {
    throw new Error(
      "attachDeadLetter: the worker's removeOnFail count deletes failed jobs before they move; give the dead-letter queue keepFailed instead"
    )
  }
  const onFailed = (job: Job | undefined) => {
    if (job?.id && job.finishedOn !== undefined) dlq.move(job.id).catch(onError)
  }
  worker.on('failed', onFailed)
  const sweeping = setInterval(() => {
    dlq
      .sweep()
      .then(() => dlq.trim())
      .catch(onError)
  }, sweepIntervalMs)
  sweeping.unref()
  return () => {
    worker.off('failed', onFailed)
    clearInterval(sweeping)
  }
}
