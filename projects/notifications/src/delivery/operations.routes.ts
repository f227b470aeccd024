import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi'
import { HttpError, jsonBody, jsonResponse, problemResponses } from '@kit/http'
import { isRedisReady } from '@kit/redis'
import type { Redis } from 'ioredis'
import { CHANNELS, type Channel } from '../channels/channel.ts'
import { TEMPLATE_FIELDS, type TemplatedChannel, type Templates } from '../templates/templates.ts'
import type { DeliveryLog } from './delivery-log.ts'
import { queueName, type DeadLetters, type DeliveryJob } from './queues.ts'
import { breakerBoardKey } from './senders.ts'

const DeadLetterView = z
  .object({
    channel: z.enum(CHANNELS),
    jobId: z.string(),
    reason: z.string(),
    attemptsMade: z.number().int(),
    failedAt: z.string(),
    deliveryId: z.string().nullable(),
  })
  .openapi('DeadLetter')

const BreakerView = z
  .object({
    provider: z.string(),
    state: z.enum(['closed', 'open', 'half-open', 'isolated']),
    since: z.string(),
  })
  .openapi('ProviderBreaker')

const TemplateInput = z.record(z.string(), z.string().max(20_000)).openapi('TemplateContent', {
  example: {
    subject: 'Order {{ event.data.orderId }} shipped',
    text: 'Hello {{ subscriber.id }}',
  },
})

function unavailable(): never {
  throw new HttpError(503, 'redis_unavailable', 'Redis is unavailable; try again shortly', {
    headers: { 'retry-after': '2' },
  })
}

/**
 * Operating the service: the dead-letter queue (list, replay), the providers' breakers as the
 * workers last reported them, and the templates.
 */
export function operationsRoutes(
  app: OpenAPIHono,
  {
    deadLetters,
    log,
    redis,
    prefix,
    templates,
  }: {
    deadLetters: DeadLetters
    log: DeliveryLog
    redis: Redis
    prefix: string
    templates: Templates
  }
) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/dead-letters',
      summary: 'Deliveries that failed for good, per channel, newest first',
      responses: {
        200: jsonResponse(z.array(DeadLetterView), 'Dead letters'),
        ...problemResponses(503),
      },
    }),
    async (c) => {
      if (!isRedisReady(redis)) unavailable()
      const entries = await Promise.all(
        CHANNELS.map(async (channel) =>
          (await deadLetters[channel].list(0, 499)).map((job) => ({
            channel,
            jobId: job.data.jobId,
            reason: job.data.failedReason,
            attemptsMade: job.data.attemptsMade,
            failedAt: new Date(job.data.diedAt).toISOString(),
            deliveryId: (job.data.data as Partial<DeliveryJob>).deliveryId ?? null,
          }))
        )
      )
      return c.json(entries.flat(), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/dead-letters/{channel}/{jobId}/replay',
      summary:
        'Send a dead letter again; a second replay does nothing (and a delivery sent meanwhile is not sent twice)',
      request: {
        params: z.object({ channel: z.enum(CHANNELS), jobId: z.string().min(1).max(200) }),
      },
      responses: {
        202: jsonResponse(
          z.object({ status: z.literal('replayed'), jobId: z.string() }),
          'Queued again'
        ),
        200: jsonResponse(
          z.object({ status: z.literal('already-replayed'), jobId: z.string() }),
          'Replayed before: nothing done'
        ),
        ...problemResponses(400, 404, 503),
      },
    }),
    async (c) => {
      if (!isRedisReady(redis)) unavailable()
      const { channel, jobId } = c.req.valid('param')
      const dlq = deadLetters[channel]
      const entry = await dlq.get(jobId)
      const delivery = entry && log.get((entry.data.data as Partial<DeliveryJob>).deliveryId ?? '')
      if (delivery?.status === 'failed') log.requeued(delivery, 'replayed')
      const result = await dlq.replay(jobId)
      if (result.status === 'not-found')
        throw new HttpError(404, 'not_found', `No dead letter ${jobId} on ${channel}`)
      if (result.status === 'already-replayed')
        return c.json({ status: 'already-replayed' as const, jobId: result.jobId }, 200)
      return c.json({ status: 'replayed' as const, jobId: result.jobId }, 202)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/providers',
      summary: "Each provider's circuit breaker, as the workers last reported it",
      responses: { 200: jsonResponse(z.array(BreakerView), 'Breakers'), ...problemResponses(503) },
    }),
    async (c) => {
      if (!isRedisReady(redis)) unavailable()
      const board = await redis.hgetall(breakerBoardKey(prefix))
      return c.json(
        Object.entries(board).map(([provider, json]) => {
          const { state, at } = JSON.parse(json) as {
            state: z.infer<typeof BreakerView>['state']
            at: number
          }
          return { provider, state, since: new Date(at).toISOString() }
        }),
        200
      )
    }
  )

  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/templates/{eventType}/{channel}',
      summary:
        'Set what a channel says for an event type (LiquidJS); `<type>#digest` for its digests',
      request: {
        params: z.object({
          eventType: z
            .string()
            .regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*(#digest)?$/)
            .max(110),
          channel: z.enum(
            Object.keys(TEMPLATE_FIELDS) as [TemplatedChannel, ...TemplatedChannel[]]
          ),
        }),
        body: jsonBody(TemplateInput),
      },
      responses: { 200: jsonResponse(TemplateInput, 'The template'), ...problemResponses(400) },
    }),
    (c) => {
      const { eventType, channel } = c.req.valid('param')
      const content = c.req.valid('json')
      const allowed: readonly string[] = TEMPLATE_FIELDS[channel]
      const unknown = Object.keys(content).filter((field) => !allowed.includes(field))
      if (unknown.length > 0) {
        throw new HttpError(400, 'validation_failed', 'Unknown template fields', {
          errors: unknown.map((path) => ({
            path,
            message: `a ${channel} template has ${allowed.join(', ')}`,
          })),
        })
      }
      try {
        templates.put(eventType, channel, content)
      } catch (error) {
        throw new HttpError(400, 'invalid_template', 'A template does not parse', {
          errors: [
            {
              path: Object.keys(content)[0] ?? '',
              message: (error as Error).message.split('\n')[0] ?? '',
            },
          ],
        })
      }
      return c.json(content, 200)
    }
  )
}

/** The queue names (for logs and the benchmark). */
export const channelQueueNames = Object.fromEntries(
  CHANNELS.map((c) => [c, queueName(c)])
) as Record<Channel, string>
