/**
 * The demo service's request and response schemas: what validates a request is also what the
 * OpenAPI document says (served at /openapi.json, rendered at /docs).
 */
import { z } from '@hono/zod-openapi'
import { problemResponses } from '@kit/http'
import { ALGORITHMS } from '../limiter/index.ts'

/** The most simulated work GET /api/priority accepts (?work=ms). */
export const MAX_WORK_MS = 5000
/** A decision key is an identifier (a user id, an email, an address), not data. */
export const DECISION_KEY = /^[A-Za-z0-9_.:@/+=-]{1,128}$/

export const Resource = z
  .object({ resource: z.literal('ok'), tier: z.string().openapi({ example: 'anonymous' }) })
  .openapi('Resource')

export const ReportAccepted = z
  .object({ report: z.literal('accepted'), cost: z.number().int() })
  .openapi('ReportAccepted')

export const SearchQuery = z.object({
  q: z.string().max(200).default('').openapi({ example: 'kit' }),
})
export const SearchResult = z
  .object({ query: z.string(), results: z.array(z.unknown()) })
  .openapi('SearchResult')

export const Upload = z.object({ uploaded: z.number().int() }).openapi('Upload')

export const PriorityQuery = z.object({
  work: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_WORK_MS)
    .default(0)
    .openapi({ description: 'Milliseconds of simulated work' }),
})
export const Served = z.object({ served: z.enum(['critical', 'normal']) }).openapi('Served')

export const AlgorithmParams = z.object({
  algorithm: z.enum(ALGORITHMS).openapi({ param: { name: 'algorithm', in: 'path' } }),
})
export const AlgorithmOk = z.object({ algorithm: z.enum(ALGORITHMS) }).openapi('AlgorithmOk')

/** `{ policy, key, cost }`, with the policy names of this configuration. */
export function decisionRequest(policyNames: readonly [string, ...string[]]) {
  return z
    .strictObject({
      policy: z.enum(policyNames, { error: `must be one of ${policyNames.join(', ')}` }),
      key: z.string().regex(DECISION_KEY, {
        error: 'must be 1-128 characters of A-Z a-z 0-9 _ . : @ / + = -',
      }),
      cost: z.number().int().min(0).default(1),
    })
    .openapi('DecisionRequest')
}

export const Decision = z
  .object({
    allowed: z.boolean(),
    policy: z.object({
      name: z.string(),
      limit: z.number().int(),
      windowSeconds: z.number().int().nullable(),
    }),
    remaining: z.number(),
    resetMs: z.number(),
    retryAfterMs: z.number(),
    source: z
      .enum(['store', 'insurance', 'fail-open', 'block-cache'])
      .openapi({ description: 'What decided: the store, or the outage policy' }),
  })
  .openapi('Decision')

export const Health = z.object({ status: z.literal('ok') }).openapi('Health')

export const Readiness = z
  .object({
    status: z.enum(['ready', 'degraded', 'unavailable', 'draining']),
    checks: z.record(z.string(), z.enum(['up', 'down'])),
    store: z.object({
      backend: z.enum(['memory', 'redis']),
      state: z.enum(['up', 'down']),
      onStoreFailure: z.enum(['fail-open', 'fail-closed', 'insurance']),
      deciding: z.string().openapi({ description: 'redis, memory, or the outage policy' }),
    }),
  })
  .openapi('Readiness')

const field = (description: string) => ({ description, schema: { type: 'string' as const } })

/** The fields every answer of a limited route carries (draft-ietf-httpapi-ratelimit-headers-11). */
export const LIMIT_FIELDS = {
  'RateLimit-Policy': field('The policies of this resource, e.g. "default";q=100;w=60'),
  RateLimit: field(
    'The client\'s standing under each policy, when known, e.g. "default";r=99;t=60'
  ),
}

/** A JSON answer of a limited route, with its RateLimit fields. */
export function limitedJson<T extends z.ZodType>(schema: T, description: string) {
  return {
    description,
    headers: LIMIT_FIELDS,
    content: { 'application/json': { schema } },
  }
}

/** The refusals of a limited route (429 quota exceeded, 503 store down or shedding) and the
 * other errors it answers, each an RFC 9457 problem. */
export function refusals<const S extends number>(...statuses: S[]) {
  const limiting = problemResponses(429, 503)
  return {
    ...problemResponses(...statuses),
    429: {
      ...limiting[429],
      headers: { ...LIMIT_FIELDS, 'Retry-After': field('Seconds until a retry can pass') },
    },
    503: { ...limiting[503], headers: { 'Retry-After': field('Seconds to wait') } },
  }
}
