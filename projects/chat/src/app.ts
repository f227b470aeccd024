import {
  createOpenApiApp,
  errorHandler,
  kitMiddleware,
  limitBody,
  notFoundHandler,
  serveApiDocs,
  type createMetrics,
  type Health,
} from '@kit/http'
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { Logger } from 'pino'
import type { Tokens } from './auth/tokens.ts'
import type { ChatGateway } from './gateway/chat-gateway.ts'
import type { Presence } from './presence/presence.ts'
import type { RoomLog } from './room-log/room-log.ts'
import type { RoomDirectory } from './rooms/room-directory.ts'
import { createApiRoutes } from './routes/api.routes.ts'
import type { AuthEnv } from './routes/auth.ts'
import { registerWsRoute } from './routes/ws.route.ts'
import { chatPage } from './web/chat-page.ts'
import type { createConnectionCap } from './ws-guards/connection-cap.ts'
import type { OriginPolicy } from './ws-guards/origin-allowlist.ts'

/** JSON bodies over 16 KiB are refused with 413 (a message travels over the WebSocket). */
export const MAX_BODY_BYTES = 16 * 1024

export type AppDeps = {
  log: RoomLog
  directory: RoomDirectory
  presence: Presence
  tokens: Tokens
  origins: OriginPolicy
  cap: ReturnType<typeof createConnectionCap>
  gateway: ChatGateway
  /** Closes the user's sockets on every instance. */
  onLogout: (user: string) => Promise<void>
  publishEvent: (room: string, event: object) => Promise<void>
  logger: Logger
  /** /healthz and /readyz; the handshake is refused (503) once it is draining. */
  health: Health
  metrics?: ReturnType<typeof createMetrics>
}

/**
 * Builds the chat's HTTP side. Opens nothing and listens nowhere: service.ts (or a test) passes
 * in real dependencies, and serveApp serves it with the `ws` server for the upgrade.
 *
 * | route                                   | what                                           |
 * | --------------------------------------- | ---------------------------------------------- |
 * | GET /                                   | the browser client                             |
 * | GET /ws                                 | the WebSocket (token, Origin, per-user cap)    |
 * | POST /api/tokens, POST /api/logout      | the demo login; logout closes the user's sockets |
 * | /api/rooms…                             | rooms, members, history pages, read receipts   |
 * | GET /healthz, /readyz, /metrics         | probes and Prometheus                          |
 * | GET /openapi.json, /docs                | the API's description                          |
 *
 * @example
 * ```ts
 * const app = createApp({ log, directory, presence, tokens, origins, cap, gateway, ... })
 * const res = await app.request('/api/tokens', { method: 'POST', body: JSON.stringify({ user: 'ada' }) })
 * ```
 */
export function createApp({
  log,
  directory,
  presence,
  tokens,
  origins,
  cap,
  gateway,
  onLogout,
  publishEvent,
  logger,
  health,
  metrics,
}: AppDeps): OpenAPIHono<AuthEnv> {
  const app = createOpenApiApp<AuthEnv>()
  app.use(kitMiddleware({ logger }))
  if (metrics) app.use(metrics.middleware)
  app.onError(errorHandler({ logger }))
  app.notFound(notFoundHandler)

  app.route('/', health.routes)
  if (metrics) app.get('/metrics', metrics.handler)
  app.use('/api/*', limitBody(MAX_BODY_BYTES))
  app.route('/api', createApiRoutes({ tokens, log, directory, presence, onLogout, publishEvent }))
  registerWsRoute(app, { origins, tokens, cap, gateway, health })
  const page = chatPage()
  app.get('/', (c) => c.html(page))
  serveApiDocs(app, {
    title: 'Chat',
    version: '1.0.0',
    description: 'Rooms, history and tokens over HTTP; messages over the WebSocket at /ws.',
  })
  return app
}
