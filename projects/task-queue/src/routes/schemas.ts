/** Response bodies of the API, as zod schemas (documented in /openapi.json). */
import { z } from '@hono/zod-openapi'

export const JobState = z
  .enum([
    'queued',
    'waiting',
    'delayed',
    'prioritized',
    'active',
    'completed',
    'failed',
    'dead',
    'waiting-children',
    'unknown',
  ])
  .openapi('JobState', {
    description:
      'queued: in its tenant’s backlog, not yet in the queue (fair scheduling). dead: failed for good, in the dead-letter queue.',
  })

export const EnqueueResult = z
  .object({
    id: z.string(),
    name: z.string(),
    state: JobState,
    duplicate: z
      .boolean()
      .openapi({ description: 'Created by an earlier request with this Idempotency-Key.' }),
    deduplicated: z.boolean().openapi({
      description: 'A job with the same deduplication id was kept instead; `id` is that job.',
    }),
  })
  .openapi('EnqueueResult')

export const BulkResult = z.object({ jobs: z.array(EnqueueResult) }).openapi('BulkResult')

export const JobView = z
  .object({
    id: z.string(),
    name: z.string(),
    state: JobState,
    tenant: z.string().optional(),
    data: z.unknown(),
    progress: z
      .unknown()
      .openapi({ description: 'What the job reported: a percentage or an object.' }),
    attemptsMade: z.number().int(),
    attempts: z.number().int(),
    result: z.unknown().optional(),
    failedReason: z.string().optional(),
    createdAt: z.number().int(),
    processedAt: z.number().int().optional(),
    finishedAt: z.number().int().optional(),
    delayMs: z.number().int().optional(),
    priority: z.number().int().optional(),
  })
  .openapi('Job')

export const CancelResult = z
  .object({ id: z.string(), status: z.enum(['cancelled', 'cancelling']) })
  .openapi('CancelResult', {
    description:
      'cancelled: removed before it ran. cancelling: running; its worker aborts it (check its state).',
  })

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({
      param: { name: 'id', in: 'path' },
      example: '7d6f2b1e-3c1a-4a4e-9f0b-2b0f6f3b8a11',
    }),
})
