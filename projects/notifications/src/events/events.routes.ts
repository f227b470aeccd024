import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi'
import { HttpError, jsonBody, jsonResponse, limitBody, problemResponses } from '@kit/http'
import { CHANNELS } from '../channels/channel.ts'
import type { DeliveryLog } from '../delivery/delivery-log.ts'
import type { OutboxRelay } from '../outbox/index.ts'
import { timelinePage } from './timeline-page.ts'
import type { Trigger } from './trigger.ts'

const EventType = z
  .string()
  .regex(
    /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/,
    'a dot-separated name of [A-Za-z0-9_] (Standard Webhooks)'
  )
  .max(100)
  .openapi({ example: 'order.shipped' })

const SubscriberId = z
  .string()
  .regex(/^[A-Za-z0-9_.@:-]{1,128}$/, '1-128 characters of A-Z a-z 0-9 _ . @ : -')

export const schemas = { EventType, SubscriberId }

const TriggerBody = z
  .strictObject({
    type: EventType,
    recipients: z.array(SubscriberId).min(1),
    data: z.record(z.string(), z.unknown()).default({}),
    channels: z
      .array(z.enum(CHANNELS))
      .min(1)
      .default([...CHANNELS]),
    critical: z
      .boolean()
      .default(false)
      .openapi({ description: 'Bypasses opt-outs, quiet hours and digests' }),
  })
  .openapi('TriggerEvent')

const Accepted = z
  .object({
    id: z.string().openapi({ example: 'evt_3JkT…' }),
    type: z.string(),
    recipients: z.number().int(),
    channels: z.array(z.enum(CHANNELS)),
    critical: z.boolean(),
    status: z.literal('accepted'),
    acceptedAt: z.string(),
  })
  .openapi('AcceptedEvent')

const IdempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(255).optional().openapi({
    description:
      'The same key and body answer the first response again, without a second fan-out; kept 24 h at least',
  }),
})

const DeliveryView = z
  .object({
    id: z.string(),
    channel: z.enum(CHANNELS),
    subscriberId: z.string(),
    target: z.string(),
    status: z.enum(['queued', 'sent', 'failed', 'suppressed']),
    reason: z.string().nullable(),
    attempts: z.number().int(),
    provider: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi('Delivery')

const StepView = z
  .object({
    deliveryId: z.string(),
    at: z.string(),
    status: z.enum(['queued', 'sent', 'failed', 'suppressed']),
    reason: z.string().nullable(),
    provider: z.string().nullable(),
    attempt: z.number().int().nullable(),
    detail: z.string().nullable(),
  })
  .openapi('DeliveryStep')

const EventLog = z
  .object({
    event: z.object({
      id: z.string(),
      type: z.string(),
      recipients: z.array(z.string()),
      channels: z.array(z.string()),
      critical: z.boolean(),
      acceptedAt: z.string(),
      fannedOut: z.boolean(),
    }),
    summary: z.record(z.string(), z.number().int()),
    deliveries: z.array(DeliveryView),
    timeline: z.array(StepView),
  })
  .openapi('EventLog')

const EventParams = z.object({ id: z.string().min(1).max(64) })

/** The trigger API and the delivery log of each event. */
export function eventRoutes(
  app: OpenAPIHono,
  {
    trigger,
    log,
    relay,
    maxRecipients,
  }: { trigger: Trigger; log: DeliveryLog; relay: Pick<OutboxRelay, 'wake'>; maxRecipients: number }
) {
  app.use('/v1/events', limitBody(256 * 1024))
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/events',
      summary:
        'Trigger an event: it is stored before the 202 and fanned out to every recipient and channel',
      request: { headers: IdempotencyHeaders, body: jsonBody(TriggerBody) },
      responses: {
        202: jsonResponse(
          Accepted,
          'Accepted: stored with its outbox message; the fan-out follows'
        ),
        ...problemResponses(400, 413, 422),
      },
    }),
    (c) => {
      const input = c.req.valid('json')
      const key = c.req.valid('header')['idempotency-key']
      if (input.recipients.length > maxRecipients) {
        throw new HttpError(400, 'validation_failed', 'Too many recipients', {
          errors: [{ path: 'recipients', message: `at most ${maxRecipients}` }],
        })
      }
      const outcome = trigger.accept({ ...input, recipients: [...new Set(input.recipients)] }, key)
      if (outcome.kind === 'conflict') {
        throw new HttpError(
          422,
          'idempotency_key_reused',
          'This Idempotency-Key was used with another request body',
          {
            errors: [{ path: 'idempotency-key', message: 'already used with a different body' }],
          }
        )
      }
      if (outcome.kind === 'replayed') {
        c.header('idempotent-replayed', 'true')
        return c.json(outcome.body as z.infer<typeof Accepted>, 202)
      }
      relay.wake()
      c.header('location', `/v1/events/${outcome.body.id}`)
      return c.json(outcome.body, 202)
    }
  )

  function eventLog(id: string): z.infer<typeof EventLog> {
    const event = trigger.event(id)
    if (!event) throw new HttpError(404, 'not_found', `No event ${id}`)
    const { deliveries, timeline } = log.forEvent(id)
    const summary: Record<string, number> = {}
    for (const d of deliveries) summary[d.status] = (summary[d.status] ?? 0) + 1
    return {
      event: {
        id: event.id,
        type: event.type,
        recipients: event.recipients,
        channels: event.channels,
        critical: event.critical,
        acceptedAt: new Date(event.acceptedAt).toISOString(),
        fannedOut: deliveries.length > 0,
      },
      summary,
      deliveries: deliveries.map((d) => ({
        id: d.id,
        channel: d.channel as (typeof CHANNELS)[number],
        subscriberId: d.subscriberId,
        target: d.target,
        status: d.status,
        reason: d.reason,
        attempts: d.attempts,
        provider: d.provider,
        updatedAt: new Date(d.updatedAt).toISOString(),
      })),
      timeline: timeline.map((s) => ({
        deliveryId: s.deliveryId,
        at: new Date(s.at).toISOString(),
        status: s.status,
        reason: s.reason,
        provider: s.provider,
        attempt: s.attempt,
        detail: s.detail,
      })),
    }
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/events/{id}',
      summary: "An event's delivery log: every delivery's state and every step",
      request: { params: EventParams },
      responses: {
        200: jsonResponse(EventLog, 'The event and its deliveries'),
        ...problemResponses(400, 404),
      },
    }),
    (c) => c.json(eventLog(c.req.valid('param').id), 200)
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/events/{id}',
      summary: "A page showing one event's fan-out as a timeline",
      request: { params: EventParams },
      responses: {
        200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } },
        ...problemResponses(400, 404),
      },
    }),
    (c) => {
      const id = c.req.valid('param').id
      eventLog(id)
      return c.html(timelinePage(id), 200)
    }
  )
}
