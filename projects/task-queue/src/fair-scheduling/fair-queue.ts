/**
 * Fair scheduling per tenant in front of a BullMQ queue (BullMQ has groups only in its Pro
 * edition). A noisy tenant's burst waits in its own backlog; a dispatcher feeds the BullMQ
 * queue one job per tenant in turn (round robin) and keeps only a small window there, so a job
 * of a quiet tenant waits for at most one round of the others, not for the whole burst.
 *
 *   producer ──add(tenant)──▶ backlog per tenant ──dispatch, round robin──▶ BullMQ queue ──▶ workers
 *                              (Redis lists)           keeps ≤ window waiting
 *
 * Trade-offs: a job spends a moment in the backlog before BullMQ sees it (one dispatch poll,
 * `pollMs`); the window must cover what the workers take in one poll, or they idle. Within a
 * tenant the order is FIFO; priorities apply inside the window only. Delayed jobs do not belong
 * here: they wait in BullMQ's own delayed set.
 *
 * Nothing is lost between the backlog and the queue: a dispatch marks its jobs in flight, and
 * only once `addBulk` has returned are they forgotten. A dispatcher that died in between leaves
 * them in flight; `recover()` (run at start and on an interval) adds them again under the same
 * job ids, which BullMQ ignores if they got there. Every key shares the caller's hash tag, so
 * the scripts run on one Redis Cluster slot.
 */
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { JobsOptions, Queue } from 'bullmq'
import type { Cluster, Redis } from 'ioredis'

const script = (file: string) => readFileSync(new URL(file, import.meta.url), 'utf8')
const ENQUEUE = script('./fair-enqueue.lua')
const DISPATCH = script('./fair-dispatch.lua')
const ACK = script('./fair-ack.lua')
const CANCEL = script('./fair-cancel.lua')

/** A job waiting in its tenant's backlog. */
export type FairJob<T = unknown> = {
  id: string
  tenant: string
  name: string
  data: T
  opts?: JobsOptions
  /** When it was added to the backlog (ms); becomes the BullMQ job's `timestamp`. */
  enqueuedAt: number
}

export type FairQueueOptions = {
  /** A client or a Redis Cluster (the keys of one call share a hash tag). */
  redis: Redis | Cluster
  /** The queue the dispatcher feeds. */
  queue: Queue
  /** Prefix of every key, with a hash tag: e.g. '{shop:emails}:fair'. */
  keyPrefix: string
  /** Most jobs kept waiting in the BullMQ queue (default 100): small is fairer, too small idles. */
  window?: number
  /** How long the dispatcher waits when the window is full or the backlog empty (default 10). */
  pollMs?: number
  /** In-flight jobs older than this are added again by recover() (default 10 s). */
  recoverAfterMs?: number
  onError?: (error: unknown) => void
  now?: () => number
}

export type FairQueue<T = unknown> = {
  /** Adds a job to the tenant's backlog; `added` is false when the id is already there. */
  add(
    tenant: string,
    name: string,
    data: T,
    opts?: JobsOptions & { jobId: string }
  ): Promise<{ jobId: string; added: boolean }>
  /** A job still waiting in a backlog (not yet dispatched), or undefined. */
  pending(jobId: string): Promise<FairJob<T> | undefined>
  /** Removes a job from its backlog; false once it is on its way to the queue. */
  cancel(jobId: string): Promise<boolean>
  /** Jobs in every backlog, in flight included. */
  backlog(): Promise<number>
  /** One dispatch: up to `max` jobs, round robin, into the queue; returns how many. */
  dispatch(max: number): Promise<number>
  /** Adds the in-flight jobs a dead dispatcher left behind; returns how many. */
  recover(): Promise<number>
  /** Runs the dispatcher until close(): keeps the queue's waiting jobs at `window`. */
  start(): void
  close(): Promise<void>
}

type Commands = {
  fairEnqueue(jobs: string, ring: string, backlog: string, ...args: string[]): Promise<number>
  fairDispatch(
    jobs: string,
    ring: string,
    inflight: string,
    ...args: (string | number)[]
  ): Promise<string[]>
  fairAck(jobs: string, inflight: string, ...ids: string[]): Promise<number>
  fairCancel(jobs: string, inflight: string, id: string): Promise<number>
}

/**
 * @example
 * ```ts
 * const fair = createFairQueue({ redis, queue, keyPrefix: '{shop:emails}:fair' })
 * fair.start() // in each worker process: dispatchers can run side by side
 * await fair.add('tenant-a', 'send', { to }, { jobId: randomUUID() })
 * ```
 */
export function createFairQueue<T = unknown>({
  redis,
  queue,
  keyPrefix,
  window = 100,
  pollMs = 10,
  recoverAfterMs = 10_000,
  onError = () => {},
  now = Date.now,
}: FairQueueOptions): FairQueue<T> {
  if (!('fairDispatch' in redis)) {
    redis.defineCommand('fairEnqueue', { numberOfKeys: 3, lua: ENQUEUE })
    redis.defineCommand('fairDispatch', { numberOfKeys: 3, lua: DISPATCH })
    redis.defineCommand('fairAck', { numberOfKeys: 2, lua: ACK })
    redis.defineCommand('fairCancel', { numberOfKeys: 2, lua: CANCEL })
  }
  const commands = redis as unknown as Commands
  const jobsKey = `${keyPrefix}:jobs`
  const ringKey = `${keyPrefix}:ring`
  const inflightKey = `${keyPrefix}:inflight`
  const backlogPrefix = `${keyPrefix}:tenant:`

  async function addToQueue(entries: [string, string][]): Promise<number> {
    if (entries.length === 0) return 0
    const jobs = entries.map(([id, payload]) => {
      const job = JSON.parse(payload) as FairJob<T>
      // The job's timestamp is when the producer added it, so its wait counts the backlog too.
      return {
        name: job.name,
        data: job.data,
        opts: { ...job.opts, jobId: id, timestamp: job.enqueuedAt },
      }
    })
    await queue.addBulk(jobs)
    await commands.fairAck(jobsKey, inflightKey, ...entries.map(([id]) => id))
    return entries.length
  }

  async function dispatch(max: number): Promise<number> {
    const flat = await commands.fairDispatch(
      jobsKey,
      ringKey,
      inflightKey,
      backlogPrefix,
      max,
      now()
    )
    const entries: [string, string][] = []
    for (let i = 0; i < flat.length; i += 2) entries.push([flat[i]!, flat[i + 1]!])
    return addToQueue(entries)
  }

  async function recover(): Promise<number> {
    const ids = await redis.zrangebyscore(inflightKey, '-inf', now() - recoverAfterMs)
    if (ids.length === 0) return 0
    const payloads = await redis.hmget(jobsKey, ...ids)
    const entries = ids.flatMap((id, i) => {
      const payload = payloads[i]
      return payload ? [[id, payload] as [string, string]] : []
    })
    // In flight without a payload: acknowledged already by another process; just forget it.
    const orphans = ids.filter((_, i) => !payloads[i])
    if (orphans.length > 0) await commands.fairAck(jobsKey, inflightKey, ...orphans)
    return addToQueue(entries)
  }

  let running: AbortController | undefined
  let loop: Promise<void> | undefined

  async function run(signal: AbortSignal): Promise<void> {
    let lastRecovery = 0
    while (!signal.aborted) {
      try {
        if (now() - lastRecovery > recoverAfterMs) {
          lastRecovery = now()
          await recover()
        }
        // No tenant has a backlog: one LLEN, not a count of the queue, is the idle cost.
        if ((await redis.llen(ringKey)) === 0) {
          await sleep(pollMs, undefined, { signal })
          continue
        }
        const room = window - (await queue.getJobCountByTypes('wait', 'prioritized'))
        const moved = room > 0 ? await dispatch(room) : 0
        // More backlog and more room: go again at once; otherwise wait for the workers.
        if (room <= 0 || moved < room) await sleep(pollMs, undefined, { signal })
      } catch (error) {
        if (signal.aborted) break
        onError(error)
        await sleep(Math.max(pollMs, 1000), undefined, { signal }).catch(() => {})
      }
    }
  }

  return {
    async add(tenant, name, data, opts) {
      const { jobId, ...rest } = opts ?? { jobId: '' }
      if (!jobId) throw new TypeError('a fair job needs opts.jobId (the id it will have in BullMQ)')
      const job: FairJob<T> = { id: jobId, tenant, name, data, opts: rest, enqueuedAt: now() }
      const added = await commands.fairEnqueue(
        jobsKey,
        ringKey,
        `${backlogPrefix}${tenant}`,
        jobId,
        tenant,
        JSON.stringify(job)
      )
      return { jobId, added: added === 1 }
    },
    async pending(jobId) {
      const [payload, inflight] = await Promise.all([
        redis.hget(jobsKey, jobId),
        redis.zscore(inflightKey, jobId),
      ])
      return payload && inflight === null ? (JSON.parse(payload) as FairJob<T>) : undefined
    },
    async cancel(jobId) {
      return (await commands.fairCancel(jobsKey, inflightKey, jobId)) === 1
    },
    backlog: () => redis.hlen(jobsKey),
    dispatch,
    recover,
    start() {
      if (running) return
      running = new AbortController()
      loop = run(running.signal)
    },
    async close() {
      running?.abort()
      await loop?.catch(() => {})
      running = undefined
    },
  }
}
