/**
 * Idempotent enqueue: a client-supplied key (the `Idempotency-Key` header) gives one job however
 * often the request is sent, and the answer says whether this request created it.
 *
 * Why not BullMQ's custom `jobId` alone: a job removed by `removeOnComplete` or `removeOnFail`
 * no longer blocks a re-add with its id (docs, "Job IDs"), and the add answers the same for a
 * new job and a duplicate. The claim here lives for its own window, whatever happens to the job.
 *
 * The order makes a lost answer safe: claim the key (atomic: one caller wins), add the job with
 * the claimed id, confirm. A caller that finds a claim still "pending" (the add may have failed,
 * or be in flight) adds again with the SAME job id: BullMQ ignores an add whose id exists, so
 * the job exists exactly once either way.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Cluster, Redis } from 'ioredis'

const CLAIM = readFileSync(new URL('./claim-key.lua', import.meta.url), 'utf8')
const CONFIRM = readFileSync(new URL('./confirm-key.lua', import.meta.url), 'utf8')

/** The key was used before for a different request (another job name or payload). */
export class IdempotencyKeyReusedError extends Error {
  readonly jobId: string

  constructor(jobId: string) {
    super('this idempotency key was used for a different request')
    this.name = this.constructor.name
    this.jobId = jobId
  }
}

export type IdempotentResult = {
  jobId: string
  /** true when an earlier request with this key created the job. */
  duplicate: boolean
}

export type IdempotentEnqueueOptions = {
  /** A client or a Redis Cluster (the keys of one call share a hash tag). */
  redis: Redis | Cluster
  /** Claims are `<prefix>:<sha256 of the key>`, e.g. 'task-queue:idempotency:jobs'. */
  prefix: string
  /** How long a key is remembered (default 24 h, Stripe's window). */
  ttlSeconds?: number
}

export type IdempotentEnqueue = {
  /**
   * Adds the job once per `key`. `add` receives the job id to use and must add the job with
   * exactly that id (BullMQ `opts.jobId`).
   */
  enqueue(request: {
    key: string
    /** A job id for a new job (no ':', not an integer: BullMQ's rules). */
    jobId: string
    /** What identifies the request, e.g. the job name and payload; compared on reuse. */
    fingerprint: unknown
    add: (jobId: string) => Promise<unknown>
  }): Promise<IdempotentResult>
}

type Claim = [number, string, string, string]

/** A stable digest of any JSON value (object keys sorted), so a reordered body is the same. */
export function fingerprintOf(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical)
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])])
      )
    }
    return v
  }
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('base64url')
}

/**
 * @example
 * ```ts
 * const once = createIdempotentEnqueue({ redis, prefix: 'shop:idempotency:orders' })
 * const { jobId, duplicate } = await once.enqueue({
 *   key: req.header('idempotency-key'),
 *   jobId: randomUUID(),
 *   fingerprint: { name: 'charge', data },
 *   add: (jobId) => queue.add('charge', data, { jobId }),
 * })
 * ```
 */
export function createIdempotentEnqueue({
  redis,
  prefix,
  ttlSeconds = 24 * 3600,
}: IdempotentEnqueueOptions): IdempotentEnqueue {
  if (!('claimIdempotencyKey' in redis)) {
    redis.defineCommand('claimIdempotencyKey', { numberOfKeys: 1, lua: CLAIM })
    redis.defineCommand('confirmIdempotencyKey', { numberOfKeys: 1, lua: CONFIRM })
  }
  const commands = redis as unknown as {
    claimIdempotencyKey(key: string, jobId: string, fp: string, ttlMs: number): Promise<Claim>
    confirmIdempotencyKey(key: string, jobId: string): Promise<number>
  }
  // Hashed: a client's key may be long or hold characters a Redis key should not.
  const claimKey = (key: string) =>
    `${prefix}:${createHash('sha256').update(key).digest('base64url')}`

  return {
    async enqueue({ key, jobId, fingerprint, add }) {
      const claim = claimKey(key)
      const digest = fingerprintOf(fingerprint)
      const [created, heldBy, state, heldFingerprint] = await commands.claimIdempotencyKey(
        claim,
        jobId,
        digest,
        ttlSeconds * 1000
      )
      if (created === 0 && heldFingerprint !== digest) throw new IdempotencyKeyReusedError(heldBy)
      if (created === 0 && state === 'added') return { jobId: heldBy, duplicate: true }
      await add(heldBy)
      await commands.confirmIdempotencyKey(claim, heldBy)
      return { jobId: heldBy, duplicate: created === 0 }
    },
  }
}
