/**
 * What each job type does when it runs, and the one processor the worker runs them through: it
 * finds the job's processor by name; the worker gives it the job's deadline (`jobTimeouts`).
 * Used in-process, and inside the child process of a sandboxed worker (src/sandboxed-processor.ts).
 *
 * Every processor honours its AbortSignal, so nothing it would do runs after a timeout or a
 * cancellation.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { UnrecoverableError, type Job } from 'bullmq'
import type { EffectLedger } from '../exactly-once/index.ts'
import type { CancellableProcessor } from '../job-timeout/index.ts'
import type { JobName, JobPayload } from './catalog.ts'
import type { TaskJobOptions } from './job-requests.ts'

/** What a processor uses of a job: BullMQ's Job and its SandboxedJob both have it. */
export type RunningJob<T = unknown> = Pick<Job<T>, 'id' | 'name' | 'data' | 'attemptsMade'> & {
  opts: TaskJobOptions
  updateProgress(progress: number | object): Promise<unknown>
}

export type ProcessorDeps = {
  /** Effects applied once per job id (the outbox of email.send, demo.simulate's record). */
  effects: EffectLedger
  /** Keys the effects write: same hash tag as the ledger's markers. */
  outboxKey: string
  simulatedKey: string
  fetch?: typeof fetch
}

type Processors = {
  [N in JobName]: CancellableProcessor<RunningJob<JobPayload<N>>, unknown>
}

/** The key prefix of the ledger and the keys its effects write (one Cluster slot). */
export function effectKeys(queueName: string) {
  const tag = `{task-queue:${queueName}:effects}`
  return {
    ledgerPrefix: `${tag}:done`,
    outboxKey: `${tag}:outbox`,
    simulatedKey: `${tag}:simulated`,
  }
}

export function createProcessors({
  effects,
  outboxKey,
  simulatedKey,
  fetch: fetchFn = fetch,
}: ProcessorDeps): Processors {
  return {
    async 'email.send'(job) {
      const { to, subject } = job.data
      // The email is written to the outbox once per job, however often the job runs; the
      // relay that sends it passes the job id to the mail provider as its idempotency key.
      const { applied } = await effects.once(job.id!, [
        {
          command: 'XADD',
          key: outboxKey,
          args: ['MAXLEN', '~', 100_000, '*', 'job', job.id!, 'to', to, 'subject', subject],
        },
      ])
      return { outbox: applied ? 'written' : 'already-written' }
    },

    async 'report.render'(job, signal) {
      const { reportId, pages, msPerPage } = job.data
      let reported = 0
      for (let page = 1; page <= pages; page++) {
        await sleep(msPerPage, undefined, { signal })
        const percent = Math.floor((page / pages) * 100)
        // Progress is a Redis write: report every 5 %, not every page.
        if (percent - reported >= 5 || page === pages) {
          reported = percent
          await job.updateProgress(percent)
        }
      }
      return { reportId, pages }
    },

    async 'webhook.deliver'(job, signal) {
      const { url, event, payload } = job.data
      const res = await fetchFn(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': job.id! },
        body: JSON.stringify({ event, payload }),
        signal,
      })
      await res.body?.cancel()
      if (res.ok) return { status: res.status }
      // The receiver refused the request itself: sending it again cannot help.
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        throw new UnrecoverableError(`HTTP ${res.status} from ${new URL(url).host}`)
      }
      throw new Error(`HTTP ${res.status} from ${new URL(url).host}`)
    },

    noop: () => Promise.resolve(null),

    async 'demo.simulate'(job, signal) {
      const { durationMs, busy, failTimes, failPermanently } = job.data
      if (failPermanently) throw new UnrecoverableError('simulated permanent failure')
      if (job.attemptsMade < failTimes) {
        throw new Error(`simulated failure ${job.attemptsMade + 1} of ${failTimes}`)
      }
      if (busy) {
        // A CPU loop, as in a library that cannot look at a signal: the deadline cannot stop
        // it in-process; a sandboxed worker kills its child.
        const end = Date.now() + durationMs
        while (Date.now() < end);
      } else if (durationMs > 0) await sleep(durationMs, undefined, { signal })
      // The effect a retried or re-run job must not double: HINCRBY by job id, applied once.
      const { applied } = await effects.once(job.id!, [
        { command: 'HINCRBY', key: simulatedKey, args: [job.id!, 1] },
      ])
      return {
        attempt: job.attemptsMade + 1,
        effect: applied ? 'applied' : 'already-applied',
        // Which process ran it: a sandboxed worker's child, not the worker.
        pid: process.pid,
      }
    },
  }
}

/**
 * The processors as one function that picks the job's own by name: for a sandboxed worker's
 * processor file (src/sandboxed-processor.ts). In-process, TimeoutWorker takes the processors by
 * name itself. The deadline is the worker's either way (`jobTimeouts`).
 *
 * @example
 * ```ts
 * export default withTimeout(createJobProcessor(createProcessors(deps)), { timeoutMs: () => undefined })
 * ```
 */
export function createJobProcessor(
  processors: Processors
): CancellableProcessor<RunningJob, unknown> {
  const byName = processors as Record<string, CancellableProcessor<RunningJob, unknown>>
  return (job, signal) => {
    const processor = Object.hasOwn(byName, job.name) ? byName[job.name] : undefined
    if (!processor) throw new UnrecoverableError(`no processor for jobs named ${job.name}`)
    return processor(job, signal)
  }
}

/** Each job's deadline: its own `timeoutMs`, else the default; retried unless it says not. */
export function jobTimeouts(defaultTimeoutMs: number) {
  return {
    timeoutMs: (job: Pick<RunningJob, 'opts'>) => job.opts.timeoutMs ?? defaultTimeoutMs,
    retryOnTimeout: (job: Pick<RunningJob, 'opts'>) => job.opts.retryOnTimeout ?? true,
  }
}
