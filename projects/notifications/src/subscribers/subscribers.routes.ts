import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi'
import { HttpError, jsonBody, jsonResponse, problemResponses } from '@kit/http'
import { CHANNELS } from '../channels/channel.ts'
import { isClockTime, isValidTimeZone } from '../quiet-hours/index.ts'
import { checkUrl, SsrfBlockedError, type GuardOptions } from '../ssrf-guard/index.ts'
import type { Subscriber, SubscriberStore, WebhookEndpoint } from './subscriber-store.ts'

const Id = z
  .string()
  .regex(/^[A-Za-z0-9_.@:-]{1,128}$/, '1-128 characters of A-Z a-z 0-9 _ . @ : -')
const EventType = z
  .string()
  .regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/)
  .max(100)
const ChannelChoices = z.partialRecord(z.enum(CHANNELS), z.boolean())

const Preferences = z
  .strictObject({
    channels: ChannelChoices.optional(),
    eventTypes: z.record(EventType, ChannelChoices).optional(),
    digest: z
      .record(
        EventType,
        z
          .number()
          .int()
          .min(1)
          .max(7 * 86_400)
      )
      .optional()
      .openapi({ description: 'Seconds of the digest window, per event type' }),
  })
  .openapi('Preferences')

const SubscriberInput = z
  .strictObject({
    email: z.email().nullable().optional(),
    phone: z
      .string()
      .regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number (+33612345678)')
      .nullable()
      .optional(),
    pushTokens: z.array(z.string().min(8).max(4096)).max(20).optional(),
    timezone: z.string().refine(isValidTimeZone, 'an IANA time zone (Europe/Paris)').optional(),
    quietHours: z
      .strictObject({
        start: z.string().refine(isClockTime, 'HH:mm'),
        end: z.string().refine(isClockTime, 'HH:mm'),
      })
      .nullable()
      .optional(),
    preferences: Preferences.optional(),
  })
  .openapi('SubscriberInput')

const SubscriberView = z
  .object({
    id: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    pushTokens: z.array(z.string()),
    timezone: z.string(),
    quietHours: z.object({ start: z.string(), end: z.string() }).nullable(),
    preferences: Preferences,
  })
  .openapi('Subscriber')

const EndpointInput = z
  .strictObject({
    url: z.url({ protocol: /^https?$/ }),
    eventTypes: z.array(EventType).min(1).nullable().default(null),
  })
  .openapi('WebhookEndpointInput')

const EndpointView = z
  .object({
    id: z.string(),
    url: z.string(),
    eventTypes: z.array(z.string()).nullable(),
    status: z.enum(['enabled', 'disabled']),
    disabledReason: z.string().nullable(),
    failingSince: z.string().nullable(),
  })
  .openapi('WebhookEndpoint')

const WithSecret = EndpointView.extend({
  secret: z.string().openapi({ description: 'whsec_…: shown once; verify every delivery with it' }),
}).openapi('WebhookEndpointWithSecret')

function view(s: Subscriber): z.infer<typeof SubscriberView> {
  return {
    id: s.id,
    email: s.email,
    phone: s.phone,
    pushTokens: s.pushTokens,
    timezone: s.timezone,
    quietHours: s.quietStart && s.quietEnd ? { start: s.quietStart, end: s.quietEnd } : null,
    preferences: s.preferences,
  }
}

function endpointView(e: WebhookEndpoint): z.infer<typeof EndpointView> {
  return {
    id: e.id,
    url: e.url,
    eventTypes: e.eventTypes,
    status: e.status,
    disabledReason: e.disabledReason,
    failingSince: e.failingSince === null ? null : new Date(e.failingSince).toISOString(),
  }
}

const SubscriberParams = z.object({ id: Id })
const EndpointParams = z.object({ id: Id, endpointId: z.string().min(1).max(64) })

/** Subscribers, their preferences and their Standard Webhooks endpoints. */
export function subscriberRoutes(
  app: OpenAPIHono,
  { subscribers, ssrf }: { subscribers: SubscriberStore; ssrf: GuardOptions }
) {
  const found = (id: string) => {
    const subscriber = subscribers.get(id)
    if (!subscriber) throw new HttpError(404, 'not_found', `No subscriber ${id}`)
    return subscriber
  }
  const endpointOf = (id: string, endpointId: string) => {
    const endpoint = subscribers.endpoint(id, endpointId)
    if (!endpoint) throw new HttpError(404, 'not_found', `No webhook endpoint ${endpointId}`)
    return endpoint
  }

  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/subscribers/{id}',
      summary: 'Create or replace a subscriber',
      request: { params: SubscriberParams, body: jsonBody(SubscriberInput) },
      responses: { 200: jsonResponse(SubscriberView, 'The subscriber'), ...problemResponses(400) },
    }),
    (c) => c.json(view(subscribers.upsert(c.req.valid('param').id, c.req.valid('json'))), 200)
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/subscribers/{id}',
      request: { params: SubscriberParams },
      responses: {
        200: jsonResponse(SubscriberView, 'The subscriber'),
        ...problemResponses(400, 404),
      },
    }),
    (c) => c.json(view(found(c.req.valid('param').id)), 200)
  )

  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/subscribers/{id}/preferences',
      summary:
        'Replace what a subscriber accepts, per channel and per event type, and their digests',
      request: { params: SubscriberParams, body: jsonBody(Preferences) },
      responses: {
        200: jsonResponse(SubscriberView, 'The subscriber'),
        ...problemResponses(400, 404),
      },
    }),
    (c) => {
      const { id } = c.req.valid('param')
      found(id)
      return c.json(view(subscribers.setPreferences(id, c.req.valid('json'))!), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/subscribers/{id}/webhooks',
      summary: 'Register a Standard Webhooks endpoint (checked against SSRF now and at every send)',
      request: { params: SubscriberParams, body: jsonBody(EndpointInput) },
      responses: {
        201: jsonResponse(WithSecret, 'The endpoint and its signing secret'),
        ...problemResponses(400, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const { url, eventTypes } = c.req.valid('json')
      found(id)
      try {
        await checkUrl(url, ssrf)
      } catch (error) {
        const reason =
          error instanceof SsrfBlockedError
            ? `resolves to a ${error.reason} address`
            : (error as Error).message
        throw new HttpError(
          400,
          'blocked_address',
          `This URL may not receive webhooks: ${reason}`,
          {
            errors: [{ path: 'url', message: reason }],
          }
        )
      }
      const endpoint = subscribers.addEndpoint(id, url, eventTypes)
      return c.json({ ...endpointView(endpoint), secret: endpoint.secrets[0]!.secret }, 201)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/subscribers/{id}/webhooks',
      request: { params: SubscriberParams },
      responses: {
        200: jsonResponse(z.array(EndpointView), 'The endpoints'),
        ...problemResponses(400, 404),
      },
    }),
    (c) => {
      const { id } = c.req.valid('param')
      found(id)
      return c.json(subscribers.endpoints(id).map(endpointView), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/subscribers/{id}/webhooks/{endpointId}/rotate-secret',
      summary: 'A new secret; the previous one keeps signing for 24 h (both signatures are sent)',
      request: { params: EndpointParams },
      responses: {
        200: jsonResponse(WithSecret, 'The endpoint and its new secret'),
        ...problemResponses(400, 404),
      },
    }),
    (c) => {
      const { id, endpointId } = c.req.valid('param')
      const rotated = subscribers.rotateSecret(endpointOf(id, endpointId))
      return c.json({ ...endpointView(rotated), secret: rotated.secrets[0]!.secret }, 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/subscribers/{id}/webhooks/{endpointId}/enable',
      summary: 'Enable an endpoint disabled by a 410 or by persistent failure',
      request: { params: EndpointParams },
      responses: { 200: jsonResponse(EndpointView, 'The endpoint'), ...problemResponses(400, 404) },
    }),
    (c) => {
      const { id, endpointId } = c.req.valid('param')
      endpointOf(id, endpointId)
      subscribers.setEndpointStatus(endpointId, 'enabled', null)
      return c.json(endpointView(endpointOf(id, endpointId)), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/subscribers/{id}/webhooks/{endpointId}',
      request: { params: EndpointParams },
      responses: { 204: { description: 'Deleted' }, ...problemResponses(400, 404) },
    }),
    (c) => {
      const { id, endpointId } = c.req.valid('param')
      endpointOf(id, endpointId)
      subscribers.deleteEndpoint(endpointId)
      return c.body(null, 204)
    }
  )
}
