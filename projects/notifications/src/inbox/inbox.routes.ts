import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi'
import { HttpError, jsonResponse, problemResponses } from '@kit/http'
import { streamSSE } from 'hono/streaming'
import { itemView, type InboxItemView, type InboxStore } from './inbox-store.ts'
import type { LiveInbox } from './live-inbox.ts'

const Id = z
  .string()
  .regex(/^[A-Za-z0-9_.@:-]{1,128}$/, '1-128 characters of A-Z a-z 0-9 _ . @ : -')
const Item = z
  .object({
    id: z.number().int(),
    eventId: z.string(),
    title: z.string(),
    body: z.string(),
    data: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    readAt: z.string().nullable(),
  })
  .openapi('InboxItem')
const Page = z
  .object({
    items: z.array(Item),
    nextCursor: z.number().int().nullable(),
    unread: z.number().int(),
  })
  .openapi('InboxPage')
const Params = z.object({ id: Id })

/** Most items a reconnecting stream is sent at once; a client further behind pages the rest. */
const BACKFILL_LIMIT = 500
const HEARTBEAT_MS = 15_000

/**
 * The in-app inbox: pages (newest first, cursor = last id seen), the unread count, mark read, and
 * a live Server-Sent Events stream. SSE's own resume does the backfill: every event's `id` is
 * the item id, a browser's EventSource sends the last one back as `Last-Event-ID` when it
 * reconnects, and the stream first sends what the client missed, from SQLite, then live items.
 */
export function inboxRoutes(
  app: OpenAPIHono,
  { inbox, live }: { inbox: InboxStore; live: LiveInbox }
) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/subscribers/{id}/inbox',
      summary: 'A page of the inbox, newest first',
      request: {
        params: Params,
        query: z.object({
          cursor: z.coerce.number().int().min(1).optional(),
          limit: z.coerce.number().int().min(1).max(100).default(20),
        }),
      },
      responses: {
        200: jsonResponse(Page, 'Items, the next cursor and the unread count'),
        ...problemResponses(400),
      },
    }),
    (c) => {
      const { id } = c.req.valid('param')
      const { cursor, limit } = c.req.valid('query')
      const page = inbox.page(id, { ...(cursor !== undefined && { cursor }), limit })
      return c.json(
        {
          items: page.items.map(itemView),
          nextCursor: page.nextCursor,
          unread: inbox.unreadCount(id),
        },
        200
      )
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/subscribers/{id}/inbox/unread-count',
      request: { params: Params },
      responses: {
        200: jsonResponse(z.object({ unread: z.number().int() }), 'Unread items'),
        ...problemResponses(400),
      },
    }),
    (c) => c.json({ unread: inbox.unreadCount(c.req.valid('param').id) }, 200)
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/subscribers/{id}/inbox/{itemId}/read',
      request: { params: z.object({ id: Id, itemId: z.coerce.number().int().min(1) }) },
      responses: { 200: jsonResponse(Item, 'The item, read'), ...problemResponses(400, 404) },
    }),
    (c) => {
      const { id, itemId } = c.req.valid('param')
      const item = inbox.markRead(id, itemId)
      if (!item) throw new HttpError(404, 'not_found', `No inbox item ${itemId}`)
      return c.json(itemView(item), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/subscribers/{id}/inbox/read-all',
      request: { params: Params },
      responses: {
        200: jsonResponse(z.object({ updated: z.number().int() }), 'Items marked read'),
        ...problemResponses(400),
      },
    }),
    (c) => c.json({ updated: inbox.markAllRead(c.req.valid('param').id) }, 200)
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/subscribers/{id}/inbox/stream',
      summary: 'New items live (Server-Sent Events); resumes after Last-Event-ID',
      request: {
        params: Params,
        headers: z.object({
          'last-event-id': z
            .string()
            .regex(/^\d{1,15}$/)
            .optional(),
        }),
        query: z.object({ after: z.coerce.number().int().min(0).optional() }),
      },
      responses: {
        200: {
          description: 'An event stream: `notification` events with the item as data, id = item id',
          content: { 'text/event-stream': { schema: z.string() } },
        },
        ...problemResponses(400),
      },
    }),
    (c) => {
      const { id } = c.req.valid('param')
      const resumeFrom = Number(
        c.req.valid('header')['last-event-id'] ?? c.req.valid('query').after ?? -1
      )
      return streamSSE(c, async (stream) => {
        // Listen first, then read the backlog: an item committed in between is in one or the
        // other (or both, and then the id check below drops the second copy).
        const buffered: InboxItemView[] = []
        let backfilled = false
        let lastSent = resumeFrom
        const send = async (item: InboxItemView) => {
          if (item.id <= lastSent) return
          lastSent = item.id
          await stream.writeSSE({
            id: String(item.id),
            event: 'notification',
            data: JSON.stringify(item),
          })
        }
        let chain = Promise.resolve()
        const stop = live.listen(id, (item) => {
          if (!backfilled) buffered.push(item)
          else chain = chain.then(() => send(item)).catch(() => undefined)
        })
        stream.onAbort(stop)
        try {
          if (resumeFrom >= 0) {
            for (const item of inbox.after(id, resumeFrom, BACKFILL_LIMIT))
              await send(itemView(item))
          } else {
            lastSent = inbox.page(id, { limit: 1 }).items[0]?.id ?? 0
          }
          backfilled = true
          for (const item of buffered.sort((a, b) => a.id - b.id)) await send(item)
          await stream.writeSSE({
            event: 'ready',
            data: JSON.stringify({ unread: inbox.unreadCount(id), lastEventId: lastSent }),
          })
          while (!stream.aborted) {
            await stream.sleep(HEARTBEAT_MS)
            if (!stream.aborted) await stream.write(': heartbeat\n\n')
          }
        } finally {
          stop()
        }
      })
    }
  )
}
