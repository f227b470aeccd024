/**
 * Everything the API does with the queue, over injected connections: enqueue (direct, batched,
 * fair, idempotent, deduplicated), look a job up wherever it is (tenant backlog, queue,
 * dead-letter queue), cancel it, and close. The routes translate its answers to HTTP.
 */
import { randomUUID } from 'node:crypto'
import { createDeadLetterQueue, type DeadLetterQueue } from '@kit/dead-letter'
import { Queue, type Job, type JobsOptions } from 'bullmq'
import pLimit from 'p-limit'
import { deadQueuePrefix, type Config } from './config.ts'
import { createBatchingProducer, type BatchingProducer } from './enqueue-batching/index.ts'
import { createFairQueue, type FairJob, type FairQueue } from './fair-scheduling/index.ts'
import { createIdempotentEnqueue, type IdempotentEnqueue } from './idempotent-enqueue/index.ts'
import type { RedisClient } from './redis-client.ts'
import {
  toJobOptions,
  type BulkJobRequest,
  type JobRequest,
  type TaskJobOptions,
} from './jobs/job-requests.ts'

export type JobState =
  | 'queued'
  | 'waiting'
  | 'delayed'
  | 'prioritized'
  | 'active'
  | 'completed'
  | 'failed'
  | 'dead'
  | 'waiting-children'
  | 'unknown'

export type EnqueueResult = {
  id: string
  name: string
  state: JobState
  /** An earlier request with the same Idempotency-Key created this job. */
  duplicate: boolean
  /** A job with the same deduplication id was already there; `id` is that job. */
  deduplicated: boolean
}

export type CancelResult = 'cancelled' | 'cancelling' | 'finished' | 'not-found'

/** A job wherever it is: in its tenant's backlog, in the queue, or dead. */
export type FoundJob =
  | { where: 'backlog'; job: FairJob }
  | { where: 'queue'; job: Job; state: JobState }
  | { where: 'dead'; job: Job }

export type QueueServiceOptions = {
  /** A request-path client: fails fast while Redis is down (@kit/redis role 'request'). */
  redis: RedisClient
  config: Pick<
    Config,
    | 'QUEUE_NAME'
    | 'QUEUE_PREFIX'
    | 'KEEP_COMPLETED'
    | 'KEEP_COMPLETED_SECONDS'
    | 'IDEMPOTENCY_TTL_SECONDS'
    | 'FAIR_SCHEDULING'
    | 'FAIR_WINDOW'
    | 'BATCH_ENQUEUE'
    | 'DEAD_LETTER_MAX_AGE_DAYS'
    | 'DEAD_LETTER_MAX_COUNT'
  >
  /** Channel workers listen on for cancellations of running jobs. */
  cancelChannel?: string
}

/**
 * Bulk requests' pipelines in flight at once; the others wait their turn, first come first
 * served. Measured in the enqueue-bulk benchmark (50 connections of 100 jobs): 4 keep Redis as
 * busy as 50 do (jobs/s the same within the noise), and the slowest requests wait 0.7 s at p99
 * instead of 2.2 s, since Redis no longer interleaves 50 pipelines.
 */
const BULK_PIPELINES = 4

export type QueueService = ReturnType<typeof createQueueService>

/** The channel a queue's workers receive cancellation requests on. */
export function cancelChannelOf(queueName: string): string {
  return `task-queue:cancel:${queueName}`
}

/** The key of a queue's tenant backlogs: same hash tag as the queue. */
export function fairKeyPrefix(config: Pick<Config, 'QUEUE_PREFIX'>): string {
  return `${config.QUEUE_PREFIX}:fair`
}

/** Jobs cancelled on purpose stay in `failed`; every other final failure goes to the DLQ. */
export function shouldDeadLetter(job: Job): boolean {
  return !job.failedReason?.startsWith('job cancelled')
}

function initialState(opts: JobsOptions): JobState {
  if (opts.delay) return 'delayed'
  if (opts.priority) return 'prioritized'
  return 'waiting'
}

/**
 * @example
 * ```ts
 * const service = createQueueService({ redis, config })
 * const result = await service.enqueue({ name: 'noop', data: {} })
 * ```
 */
export function createQueueService({
  redis,
  config,
  cancelChannel = cancelChannelOf(config.QUEUE_NAME),
}: QueueServiceOptions) {
  const queue = new Queue(config.QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX })
  queue.on('error', () => {
    // Surfaced per call (a rejected add answers 503); the client logs the outage once.
  })
  const producer: BatchingProducer<unknown> | undefined = config.BATCH_ENQUEUE
    ? createBatchingProducer(queue)
    : undefined
  const fair: FairQueue = createFairQueue({
    redis,
    queue,
    keyPrefix: fairKeyPrefix(config),
    window: config.FAIR_WINDOW,
  })
  const idempotency: IdempotentEnqueue = createIdempotentEnqueue({
    redis,
    prefix: `task-queue:idempotency:${config.QUEUE_NAME}`,
    ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
  })
  const dlq: DeadLetterQueue = createDeadLetterQueue({
    source: queue,
    connection: redis,
    queueOptions: { prefix: deadQueuePrefix(config.QUEUE_NAME) },
    retention: {
      maxAgeMs: config.DEAD_LETTER_MAX_AGE_DAYS * 24 * 3_600_000,
      maxCount: config.DEAD_LETTER_MAX_COUNT,
    },
    shouldDeadLetter,
  })
  dlq.queue.on('error', () => {})
  const retention = {
    keepCompleted: config.KEEP_COMPLETED,
    keepCompletedSeconds: config.KEEP_COMPLETED_SECONDS,
  }

  /** Jobs of a tenant wait their turn in its backlog; delayed and deduplicated ones do not. */
  const viaBacklog = (request: JobRequest, opts: TaskJobOptions) =>
    request.tenant !== undefined && config.FAIR_SCHEDULING && !opts.delay && !opts.deduplication

  /** Adds the job under `jobId`; answers the id it has (another one when deduplicated). */
  async function add(request: JobRequest, opts: TaskJobOptions): Promise<string> {
    if (viaBacklog(request, opts)) {
      await fair.add(request.tenant!, request.name, request.data, {
        ...opts,
        jobId: opts.jobId!,
      })
      return opts.jobId!
    }
    const job = producer
      ? await producer.add(request.name, request.data, opts)
      : await queue.add(request.name, request.data, opts)
    return job.id!
  }

  const bulkPipelines = pLimit(BULK_PIPELINES)

  /** A new job's id and options, whether it waits in its tenant's backlog, its first state. */
  function prepare(request: JobRequest) {
    const jobId = randomUUID()
    const opts = toJobOptions(request, jobId, retention)
    const backlog = viaBacklog(request, opts)
    const state: JobState = backlog ? 'queued' : initialState(opts)
    return { jobId, opts, backlog, state }
  }

  /** `prepared`: the job's id and options when a bulk request prepared them already. */
  async function enqueue(
    request: JobRequest,
    idempotencyKey?: string,
    { jobId, opts, state } = prepare(request)
  ): Promise<EnqueueResult> {
    if (idempotencyKey !== undefined) {
      const { jobId: id, duplicate } = await idempotency.enqueue({
        key: idempotencyKey,
        jobId,
        fingerprint: request,
        add: (claimed) => add(request, { ...opts, jobId: claimed }),
      })
      return { id, name: request.name, state, duplicate, deduplicated: false }
    }
    const id = await add(request, opts)
    return { id, name: request.name, state, duplicate: false, deduplicated: id !== jobId }
  }

  /**
   * Every job of a bulk request, each with its own key. The request's plain jobs go to Redis in
   * one addBulk of their own (one pipeline; BULK_PIPELINES at once), not through the batching
   * producer, whose one batch in flight made concurrent bulk requests wait for each other's
   * round trips. Jobs with a key or for a tenant's backlog go one by one.
   */
  async function enqueueBulk(requests: BulkJobRequest[]): Promise<EnqueueResult[]> {
    const results: Promise<EnqueueResult>[] = []
    const plain: (ReturnType<typeof prepare> & { index: number; request: JobRequest })[] = []
    requests.forEach(({ idempotencyKey, ...request }, index) => {
      if (idempotencyKey !== undefined) {
        results[index] = enqueue(request, idempotencyKey)
        return
      }
      const prepared = prepare(request)
      if (prepared.backlog) results[index] = enqueue(request, undefined, prepared)
      else plain.push({ ...prepared, index, request })
    })
    if (plain.length > 0) {
      const jobs = bulkPipelines(() =>
        queue.addBulk(
          plain.map(({ request, opts }) => ({ name: request.name, data: request.data, opts }))
        )
      )
      plain.forEach(({ index, request, jobId, state }, i) => {
        results[index] = jobs.then(({ [i]: job }) => ({
          id: job!.id!,
          name: request.name,
          state,
          duplicate: false,
          deduplicated: job!.id !== jobId,
        }))
      })
    }
    return Promise.all(results)
  }

  return {
    queue,
    dlq,
    fair,
    enqueue,
    enqueueBulk,
    async find(id: string): Promise<FoundJob | undefined> {
      const pending = await fair.pending(id)
      if (pending) return { where: 'backlog', job: pending }
      // State first, then the job: the job may finish between the two reads, and a state read
      // earlier than the data can only be behind it. Data that say "finished" while the state
      // does not get the state read again, so a completed job never shows without its result.
      let state = (await queue.getJobState(id)) as JobState
      const job = await queue.getJob(id)
      if (job) {
        if (job.finishedOn && state !== 'completed' && state !== 'failed') {
          state = await job.getState()
        }
        return { where: 'queue', job, state }
      }
      const dead = await dlq.get(id)
      return dead ? { where: 'dead', job: dead } : undefined
    },
    async cancel(id: string): Promise<CancelResult> {
      if (await fair.cancel(id)) return 'cancelled'
      const job = await queue.getJob(id)
      if (!job) return (await dlq.get(id)) ? 'finished' : 'not-found'
      const state = await job.getState()
      if (state === 'completed' || state === 'failed') return 'finished'
      if (state !== 'active') {
        // remove() refuses a job a worker holds the lock of: it just became active.
        const removed = await job.remove().then(
          () => true,
          () => false
        )
        if (removed) return 'cancelled'
      }
      // A running job is cancelled by its worker (its AbortSignal): tell every worker.
      await redis.publish(cancelChannel, id)
      return 'cancelling'
    },
    async close(): Promise<void> {
      await producer?.drain()
      await fair.close()
      await dlq.close()
      await queue.close()
    },
  }
}
