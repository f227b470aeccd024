import { Queue, type ConnectionOptions, type Job } from 'bullmq'

/** What the dead-letter queue keeps of a job that will not be retried again. */
export type DeadLetter = {
  /** The queue the job came from, and its id there. */
  queue: string
  jobId: string
  name: string
  data: unknown
  reason: string
  attemptsMade: number
  failedAt: number
}

export type DeadLetterEntry = DeadLetter & { id: string }

/**
 * A dead-letter queue on BullMQ: a queue no worker consumes, holding the jobs that ran out of
 * attempts (or failed for good), with what went wrong, until someone replays or drops them.
 * `bury` is idempotent per source job (the dead letter's id is derived from it), so a worker
 * that buries and then dies before acknowledging does not bury twice.
 *
 * @example
 * ```ts
 * const dlq = createDeadLetterQueue({ connection, prefix: 'app' })
 * worker.on('failed', (job, err) => { if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) void dlq.bury(job, err.message) })
 * await dlq.replay(id, (name) => queues[name]) // back to its queue, under a new job id
 * ```
 */
export function createDeadLetterQueue({
  connection,
  prefix,
  name = '{dead-letter}',
}: {
  connection: ConnectionOptions
  prefix?: string
  name?: string
}) {
  const queue = new Queue<DeadLetter>(name, { connection, ...(prefix !== undefined && { prefix }) })
  queue.on('error', () => undefined)

  const idOf = (source: string, jobId: string) => `${source}-${jobId}`.replaceAll(':', '_')

  return {
    queue,
    /** Moves a finished-for-good job here. Answers the dead letter's id. */
    async bury(
      job: Pick<Job, 'queueName' | 'id' | 'name' | 'data' | 'attemptsMade'>,
      reason: string
    ): Promise<string> {
      const id = idOf(job.queueName, String(job.id))
      const letter: DeadLetter = {
        queue: job.queueName,
        jobId: String(job.id),
        name: job.name,
        data: job.data as unknown,
        reason,
        attemptsMade: job.attemptsMade,
        failedAt: Date.now(),
      }
      await queue.add('dead-letter', letter, { jobId: id })
      return id
    },
    /** The oldest dead letters first. */
    async list(start = 0, end = 99): Promise<DeadLetterEntry[]> {
      const jobs = await queue.getJobs(['wait', 'prioritized'], start, end, true)
      return jobs.filter((job) => job?.id).map((job) => ({ id: job.id!, ...job.data }))
    },
    async get(id: string): Promise<DeadLetterEntry | undefined> {
      const job = await queue.getJob(id)
      return job?.id ? { id: job.id, ...job.data } : undefined
    },
    /**
     * Puts a dead letter back on its queue as a new job (`<jobId>-r<n>`) and removes it from
     * here. Answers the new job id, or null when there is no such dead letter (a second replay
     * of the same one does nothing).
     */
    async replay(id: string, queueOf: (name: string) => Queue | undefined): Promise<string | null> {
      const job = await queue.getJob(id)
      if (!job?.id) return null
      const target = queueOf(job.data.queue)
      if (!target) throw new RangeError(`no queue named ${job.data.queue}`)
      const replayId = `${job.data.jobId}-r${job.data.failedAt}`
      await target.add(job.data.name, job.data.data, { jobId: replayId })
      await job.remove()
      return replayId
    },
    async count(): Promise<number> {
      return queue.getJobCountByTypes('wait', 'prioritized')
    },
    close: () => queue.close(),
  }
}

export type DeadLetterQueue = ReturnType<typeof createDeadLetterQueue>
