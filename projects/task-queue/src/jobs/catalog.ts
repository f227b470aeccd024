/**
 * The job types this service accepts: for each name, the zod schema of its payload and the
 * retry and timeout policy it runs with unless the request says otherwise. The API validates a
 * payload against its type's schema before anything is enqueued (an unknown name or a bad field
 * is a 400 naming the field); the worker looks the processor up by the same name.
 */
import { z } from '@hono/zod-openapi'
import type { BackoffOptions } from '../backoff/index.ts'

export type RetryPolicy = {
  attempts: number
  backoff: BackoffOptions & { type: 'fixed' | 'exponential' | 'full-jitter' | 'table' }
  /** Deadline of one attempt. */
  timeoutMs: number
  /** Retry an attempt that timed out (false: fail at once). */
  retryOnTimeout: boolean
}

const EmailSend = z
  .strictObject({
    to: z.email(),
    subject: z.string().min(1).max(200),
    body: z.string().max(20_000),
  })
  .openapi('EmailSend')

const ReportRender = z
  .strictObject({
    reportId: z.string().min(1).max(64),
    pages: z.number().int().min(1).max(500),
    /** Work per page, to see progress and timeouts at a human pace. */
    msPerPage: z.number().int().min(0).max(10_000).default(10),
  })
  .openapi('ReportRender')

const WebhookDeliver = z
  .strictObject({
    url: z.url({ protocol: /^https?$/ }),
    event: z.string().min(1).max(100),
    payload: z.record(z.string(), z.unknown()),
  })
  .openapi('WebhookDeliver')

const Noop = z.strictObject({}).openapi('Noop')

const DemoSimulate = z
  .strictObject({
    /** How long the job works (it honours its AbortSignal). */
    durationMs: z.number().int().min(0).max(600_000).default(0),
    /** Work by spinning the CPU instead, deaf to the signal: only a process kill stops it. */
    busy: z.boolean().optional(),
    /** The first N attempts fail with a retryable error. */
    failTimes: z.number().int().min(0).max(100).default(0),
    /** Fail with UnrecoverableError: one attempt, then the dead-letter queue. */
    failPermanently: z.boolean().default(false),
  })
  .openapi('DemoSimulate')

/** Every job type: its payload schema and its default retry policy. */
export const JOB_TYPES = {
  'email.send': {
    description: 'Sends an email: written once to the outbox, keyed by the job id.',
    schema: EmailSend,
    policy: {
      attempts: 5,
      backoff: { type: 'full-jitter', delay: 1000, maxDelay: 60_000 },
      timeoutMs: 10_000,
      retryOnTimeout: true,
    },
  },
  'report.render': {
    description: 'Renders a report page by page, reporting progress; stops at its deadline.',
    schema: ReportRender,
    policy: {
      attempts: 3,
      backoff: { type: 'exponential', delay: 2000 },
      timeoutMs: 120_000,
      retryOnTimeout: false,
    },
  },
  'webhook.deliver': {
    description:
      'POSTs an event to a URL; 4xx other than 408/429 fails for good, the rest is retried on a table schedule.',
    schema: WebhookDeliver,
    policy: {
      attempts: 8,
      backoff: {
        type: 'table',
        delays: [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000],
      },
      timeoutMs: 15_000,
      retryOnTimeout: true,
    },
  },
  noop: {
    description: 'Does nothing: the cost of the queue itself.',
    schema: Noop,
    policy: {
      attempts: 1,
      backoff: { type: 'fixed', delay: 0 },
      timeoutMs: 10_000,
      retryOnTimeout: false,
    },
  },
  'demo.simulate': {
    description:
      'Works for durationMs, fails its first failTimes attempts or for good: every failure mode from curl.',
    schema: DemoSimulate,
    policy: {
      attempts: 3,
      backoff: { type: 'exponential', delay: 500 },
      timeoutMs: 30_000,
      retryOnTimeout: true,
    },
  },
} as const satisfies Record<string, { description: string; schema: z.ZodType; policy: RetryPolicy }>

export type JobName = keyof typeof JOB_TYPES
export const JOB_NAMES = Object.keys(JOB_TYPES) as [JobName, ...JobName[]]

export type JobPayload<N extends JobName> = z.output<(typeof JOB_TYPES)[N]['schema']>

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOB_TYPES, name)
}
