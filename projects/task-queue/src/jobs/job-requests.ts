/**
 * What a producer sends, as zod schemas (the API validates with them and documents them in
 * OpenAPI), and how a request becomes BullMQ job options.
 */
import { z } from '@hono/zod-openapi'
import type { JobsOptions } from 'bullmq'
import { JOB_NAMES, JOB_TYPES, type JobName, type RetryPolicy } from './catalog.ts'

const DAY = 24 * 3_600_000
const ms = (max: number) => z.number().int().min(0).max(max)

/** BullMQ's highest priority number (2^21 - 1); 1 runs first. */
export const PRIORITY_LIMIT = 2 ** 21 - 1

export const BackoffRequest = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('fixed'), delayMs: ms(DAY) }),
    z.strictObject({ type: z.literal('exponential'), delayMs: ms(DAY) }),
    z.strictObject({
      type: z.literal('full-jitter'),
      delayMs: ms(DAY),
      maxDelayMs: ms(30 * DAY).optional(),
    }),
    z.strictObject({
      type: z.literal('table'),
      delaysMs: z
        .array(ms(30 * DAY))
        .min(1)
        .max(50),
    }),
  ])
  .openapi('Backoff', { description: 'A named retry schedule (see src/backoff).' })

export const Deduplication = z
  .strictObject({
    id: z.string().min(1).max(200),
    /**
     * until-finished: later jobs with this id are dropped while the first has not finished.
     * throttle: dropped for ttlMs after the first. debounce: the last one within ttlMs wins,
     * and runs once the id has been quiet for ttlMs (needs delayMs).
     */
    mode: z.enum(['until-finished', 'throttle', 'debounce']).default('until-finished'),
    ttlMs: ms(30 * DAY)
      .min(1)
      .optional(),
  })
  .openapi('Deduplication')

export const JobOptions = z
  .strictObject({
    delayMs: ms(365 * DAY).optional(),
    /** 1 runs first; a job without priority runs before every prioritized one. */
    priority: z.number().int().min(1).max(PRIORITY_LIMIT).optional(),
    attempts: z.number().int().min(1).max(100).optional(),
    backoff: BackoffRequest.optional(),
    /** Deadline of one attempt; the job's AbortSignal fires at it. */
    timeoutMs: ms(DAY).min(1).optional(),
    deduplication: Deduplication.optional(),
  })
  .superRefine((options, ctx) => {
    const dedup = options.deduplication
    if (dedup && dedup.mode !== 'until-finished' && dedup.ttlMs === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['deduplication', 'ttlMs'],
        message: `required in ${dedup.mode} mode`,
      })
    }
    if (dedup?.mode === 'debounce' && !options.delayMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['delayMs'],
        message: 'debounce needs a delay: the job waits it out before running',
      })
    }
  })
  .openapi('JobOptions')

/** Tenants are scheduled fairly against each other (see src/fair-scheduling). */
export const Tenant = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . -')

const IdempotencyKey = z.string().min(1).max(255)

function variant<N extends JobName>(name: N) {
  return z.strictObject({
    name: z.literal(name),
    data: JOB_TYPES[name].schema,
    tenant: Tenant.optional(),
    options: JobOptions.optional(),
  })
}

const variants = JOB_NAMES.map(variant) as unknown as [
  ReturnType<typeof variant>,
  ...ReturnType<typeof variant>[],
]

export const JobRequest = z.discriminatedUnion('name', variants).openapi('JobRequest', {
  description: 'One job: its type, payload (checked by type) and options.',
})

export type JobRequest = z.output<typeof JobRequest>

export const BulkJobRequest = z
  .discriminatedUnion(
    'name',
    variants.map((v) => v.extend({ idempotencyKey: IdempotencyKey.optional() })) as unknown as [
      ReturnType<typeof variant>,
      ...ReturnType<typeof variant>[],
    ]
  )
  .openapi('BulkJobRequest')

export type BulkJobRequest = JobRequest & { idempotencyKey?: string }

export function bulkRequestSchema(maxJobs: number) {
  return z
    .strictObject({ jobs: z.array(BulkJobRequest).min(1).max(maxJobs) })
    .openapi('BulkRequest')
}

/** The header a producer retries with, and its schema. */
export const IDEMPOTENCY_HEADER = 'idempotency-key'
export const IdempotencyHeaders = z.object({
  [IDEMPOTENCY_HEADER]: IdempotencyKey.optional().openapi({
    description: 'The same key gives the same job for 24 h; the answer says `duplicate`.',
  }),
})

/** Options BullMQ keeps with the job and this service reads back (unknown keys are kept). */
export type TaskJobOptions = JobsOptions & {
  /** Deadline of one attempt, read by the worker. */
  timeoutMs?: number
  retryOnTimeout?: boolean
  tenant?: string
}

/** Completed jobs kept. Failed ones are the dead-letter queue's (its `keepFailed`). */
export type Retention = {
  keepCompleted: number
  keepCompletedSeconds: number
}

/** The BullMQ options of a request: its own, else its type's policy, plus retention. */
export function toJobOptions(
  request: JobRequest,
  jobId: string,
  { keepCompleted, keepCompletedSeconds }: Retention
): TaskJobOptions {
  const policy: RetryPolicy = JOB_TYPES[request.name].policy
  const o = request.options ?? {}
  const backoff = o.backoff
    ? {
        type: o.backoff.type,
        ...('delayMs' in o.backoff && { delay: o.backoff.delayMs }),
        ...('maxDelayMs' in o.backoff && { maxDelay: o.backoff.maxDelayMs }),
        ...('delaysMs' in o.backoff && { delays: o.backoff.delaysMs }),
      }
    : policy.backoff
  const dedup = o.deduplication
  return {
    jobId,
    attempts: o.attempts ?? policy.attempts,
    backoff: backoff,
    timeoutMs: o.timeoutMs ?? policy.timeoutMs,
    retryOnTimeout: policy.retryOnTimeout,
    ...(o.delayMs && { delay: o.delayMs }),
    ...(o.priority !== undefined && { priority: o.priority }),
    ...(request.tenant !== undefined && { tenant: request.tenant }),
    ...(dedup && {
      deduplication: {
        id: dedup.id,
        ...(dedup.ttlMs !== undefined && { ttl: dedup.ttlMs }),
        ...(dedup.mode === 'debounce' && { extend: true, replace: true }),
      },
    }),
    removeOnComplete: { count: keepCompleted, age: keepCompletedSeconds },
    // Kept until the worker's dead-letter step has moved it: BullMQ's count would delete failed
    // jobs before they move. The worker caps the failed set (KEEP_FAILED) itself.
    removeOnFail: false,
  }
}
