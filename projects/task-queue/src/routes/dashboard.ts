/**
 * Bull Board, mounted twice: `/dashboard` read-only for anyone who can reach the service, and
 * `/admin/dashboard` with its actions (retry, promote, clean, pause) behind the admin key
 * (HTTP Basic: the browser asks; the key is the password).
 */
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { HonoAdapter } from '@bull-board/hono'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { serveStatic } from '@hono/node-server/serve-static'
import type { Queue } from 'bullmq'
import type { Hono, MiddlewareHandler } from 'hono'

function board(queues: Queue[], basePath: string, readOnlyMode: boolean): Hono {
  const adapter = new HonoAdapter(serveStatic).setBasePath(basePath)
  createBullBoard({
    queues: queues.map(
      (queue) => new BullMQAdapter(queue, { readOnlyMode, allowRetries: !readOnlyMode })
    ),
    serverAdapter: adapter,
    options: {
      uiConfig: { boardTitle: readOnlyMode ? 'Task queue (read-only)' : 'Task queue (admin)' },
    },
  })
  return adapter.registerPlugin()
}

export function mountDashboards(
  app: OpenAPIHono,
  { queues, requireAdmin }: { queues: Queue[]; requireAdmin: MiddlewareHandler }
): void {
  app.route('/dashboard', board(queues, '/dashboard', true))
  app.use('/admin/dashboard', requireAdmin)
  app.use('/admin/dashboard/*', requireAdmin)
  app.route('/admin/dashboard', board(queues, '/admin/dashboard', false))
}
