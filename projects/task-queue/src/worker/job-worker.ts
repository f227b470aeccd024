/**
 * One worker process's BullMQ side: the Worker (in-process or sandboxed processor, named
 * backoffs, deadlines), the dead-letter hook and sweeper, the fair-scheduling dispatcher, the
 * listener for cancellations from the API, and per-job metrics. `close()` is the graceful
 * shutdown: take no new job, let the active ones finish, then stop.
 */
import { attachDeadLetter, createDeadLetterQueue } from '@kit/dead-letter'
import type { Worker } from 'bullmq'
import { MetricsTime, Queue, type Job, type WorkerOptions } from 'bullmq'
import type { Logger } from 'pino'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { createBackoffStrategy } from '../backoff/index.ts'
import { deadQueuePrefix, type Config } from '../config.ts'
import { createEffectLedger } from '../exactly-once/index.ts'
import { createFairQueue } from '../fair-scheduling/index.ts'
import { SandboxedWorker, TimeoutWorker, type TimeoutOptions } from '../job-timeout/index.ts'
import { createProcessors, effectKeys, jobTimeouts } from '../jobs/processors.ts'
import type { RedisClient } from '../redis-client.ts'
import { cancelChannelOf, fairKeyPrefix, shouldDeadLetter } from '../queue-service.ts'

export type JobWorkerOptions = {
  config: Pick<
    Config,
    | 'QUEUE_NAME'
    | 'QUEUE_PREFIX'
    | 'WORKER_CONCURRENCY'
    | 'PROCESSOR_MODE'
    | 'LOCK_DURATION_MS'
    | 'STALLED_INTERVAL_MS'
    | 'MAX_STALLED_COUNT'
    | 'DEFAULT_TIMEOUT_MS'
    | 'FAIR_SCHEDULING'
    | 'FAIR_WINDOW'
    | 'KEEP_COMPLETED'
    | 'KEEP_COMPLETED_SECONDS'
    | 'KEEP_FAILED'
    | 'DEAD_LETTER_MAX_AGE_DAYS'
    | 'DEAD_LETTER_MAX_COUNT'
    | 'DEAD_LETTER_SWEEP_MS'
  >
  /** A consumer client: waits through outages (@kit/redis role 'worker'). */
  connection: RedisClient
  /** A pub/sub client for cancellations (role 'subscriber'). */
  subscriber: RedisClient
  logger: Logger
  registry?: Registry
  /** The sandboxed processor module (PROCESSOR_MODE=sandboxed). */
  sandboxedProcessor?: URL
}

export type JobWorker = {
  worker: Worker
  close(): Promise<void>
}

/**
 * Per-job metrics from the worker's events. Label children are looked up once per job name
 * (prom-client hashes the labels on every call otherwise), and the active gauge is read from a
 * plain count when scraped.
 */
function attachJobMetrics(worker: Worker, registry: Registry): void {
  let active = 0
  new Gauge({
    name: 'task_queue_jobs_active',
    help: 'Jobs running in this worker',
    registers: [registry],
    collect() {
      this.set(active)
    },
  })
  const processed = new Counter({
    name: 'task_queue_jobs_processed_total',
    help: 'Attempts finished, by job name and outcome (completed, retried, failed)',
    labelNames: ['name', 'outcome'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'task_queue_job_duration_seconds',
    help: 'Time an attempt ran, by job name',
    labelNames: ['name'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [registry],
  })
  const wait = new Histogram({
    name: 'task_queue_job_wait_seconds',
    help: 'Time from enqueue (or its tenant backlog) to the first attempt starting, by job name',
    labelNames: ['name'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300],
    registers: [registry],
  })
  const childrenOf = (name: string) => ({
    completed: processed.labels(name, 'completed'),
    retried: processed.labels(name, 'retried'),
    failed: processed.labels(name, 'failed'),
    duration: duration.labels(name),
    wait: wait.labels(name),
  })
  const byName = new Map<string, ReturnType<typeof childrenOf>>()
  const metricsOf = (name: string) => {
    let children = byName.get(name)
    if (!children) byName.set(name, (children = childrenOf(name)))
    return children
  }

  worker.on('active', (job: Job) => {
    active++
    if (job.attemptsStarted <= 1 && job.processedOn) {
      metricsOf(job.name).wait.observe(Math.max(0, job.processedOn - job.timestamp) / 1000)
    }
  })
  const finished = (job: Job | undefined, outcome: 'completed' | 'retried' | 'failed') => {
    active--
    if (!job) return
    const m = metricsOf(job.name)
    m[outcome].inc()
    if (job.processedOn) m.duration.observe((Date.now() - job.processedOn) / 1000)
  }
  worker.on('completed', (job) => finished(job, 'completed'))
  worker.on('failed', (job) => finished(job, job?.finishedOn ? 'failed' : 'retried'))
}

/**
 * @example
 * ```ts
 * const jobWorker = await createJobWorker({ config, connection, subscriber, logger })
 * process.once('SIGTERM', () => jobWorker.close().then(() => process.exit(0)))
 * ```
 */
export async function createJobWorker({
  config,
  connection,
  subscriber,
  logger,
  registry,
  sandboxedProcessor,
}: JobWorkerOptions): Promise<JobWorker> {
  const prefix = config.QUEUE_PREFIX
  const queue = new Queue(config.QUEUE_NAME, { connection, prefix })
  queue.on('error', (err) => logger.warn({ err }, 'queue error'))

  const { ledgerPrefix, outboxKey, simulatedKey } = effectKeys(config.QUEUE_NAME)
  const options: WorkerOptions = {
    connection,
    prefix,
    concurrency: config.WORKER_CONCURRENCY,
    lockDuration: config.LOCK_DURATION_MS,
    stalledInterval: config.STALLED_INTERVAL_MS,
    maxStalledCount: config.MAX_STALLED_COUNT,
    settings: { backoffStrategy: createBackoffStrategy() },
    // Per-minute completed/failed counts in Redis, read by the API's /metrics (BullMQ's exporter).
    metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
    // For jobs added by other producers; the API sets it on every job it adds.
    removeOnComplete: { count: config.KEEP_COMPLETED, age: config.KEEP_COMPLETED_SECONDS },
    // No removeOnFail: BullMQ's count deletes failed jobs before the dead-letter step moves them.
    // That step caps the failed set instead (keepFailed below).
  }
  const timeouts = jobTimeouts(config.DEFAULT_TIMEOUT_MS) as TimeoutOptions<Job>
  // Sandboxed: each job runs in a child process, killed at the job's deadline. In-process: the
  // processor's signal fires at the deadline and the job fails then.
  const worker: Worker =
    config.PROCESSOR_MODE === 'sandboxed' && sandboxedProcessor
      ? new SandboxedWorker(config.QUEUE_NAME, sandboxedProcessor, { ...options, timeouts })
      : new TimeoutWorker(
          config.QUEUE_NAME,
          // One processor per job name: only those that take the signal get one.
          createProcessors({
            effects: createEffectLedger({ redis: connection, prefix: ledgerPrefix }),
            outboxKey,
            simulatedKey,
          }),
          { ...options, timeouts }
        )
  worker.on('error', (err) => logger.warn({ err }, 'worker error'))
  worker.on('stalled', (jobId) =>
    logger.warn({ jobId }, 'job stalled: its worker stopped renewing the lock; it runs again')
  )

  if (registry) attachJobMetrics(worker, registry)

  const dlq = createDeadLetterQueue({
    source: queue,
    connection,
    queueOptions: { prefix: deadQueuePrefix(config.QUEUE_NAME) },
    retention: {
      maxAgeMs: config.DEAD_LETTER_MAX_AGE_DAYS * 24 * 3_600_000,
      maxCount: config.DEAD_LETTER_MAX_COUNT,
    },
    shouldDeadLetter,
    keepFailed: config.KEEP_FAILED,
  })
  const stopDeadLetter = attachDeadLetter(worker, dlq, {
    sweepIntervalMs: config.DEAD_LETTER_SWEEP_MS,
    onError: (err) => logger.warn({ err }, 'dead-letter move failed; the next sweep retries it'),
  })

  const fair = createFairQueue({
    redis: connection,
    queue,
    keyPrefix: fairKeyPrefix(config),
    window: config.FAIR_WINDOW,
    onError: (err) => logger.warn({ err }, 'fair dispatch failed; retrying'),
  })
  if (config.FAIR_SCHEDULING) fair.start()

  const cancelChannel = cancelChannelOf(config.QUEUE_NAME)
  const onCancel = (channel: string, jobId: string) => {
    if (channel !== cancelChannel) return
    // BullMQ starts tracking a job's signal just after marking it active: one late retry.
    if (!worker.cancelJob(jobId, 'cancelled through the API')) {
      setTimeout(() => worker.cancelJob(jobId, 'cancelled through the API'), 50).unref()
    }
  }
  subscriber.on('message', onCancel)
  await subscriber.subscribe(cancelChannel)

  return {
    worker,
    async close() {
      await fair.close()
      // Takes no new job and waits for the active ones; their failures still reach the DLQ.
      await worker.close()
      stopDeadLetter()
      subscriber.off('message', onCancel)
      await subscriber.unsubscribe(cancelChannel).catch(() => {})
      await dlq.close()
      await queue.close()
    },
  }
}
