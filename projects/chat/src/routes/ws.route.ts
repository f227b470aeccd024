import { createRoute } from '@hono/zod-openapi'
import { upgradeWebSocket, type HttpBindings } from '@hono/node-server'
import { problem, problemResponses, type Health } from '@kit/http'
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { WebSocket } from 'ws'
import type { ChatGateway } from '../gateway/chat-gateway.ts'
import { adoptSocket } from './adopt-socket.ts'
import type { createConnectionCap } from '../ws-guards/connection-cap.ts'
import type { OriginPolicy } from '../ws-guards/origin-allowlist.ts'
import { requireUser, type AuthEnv } from './auth.ts'
import type { Tokens } from '../auth/tokens.ts'

export type WsRouteDeps = {
  origins: OriginPolicy
  tokens: Tokens
  cap: ReturnType<typeof createConnectionCap>
  gateway: ChatGateway
  health: Pick<Health, 'draining'>
}

type WsEnv = AuthEnv & { Variables: { release: () => void }; Bindings: HttpBindings }

/** The subprotocol the server speaks; browsers offer it with `bearer.<token>`. */
export const CHAT_PROTOCOL = 'chat.v1'

/**
 * GET /ws: the WebSocket handshake. Every check runs on the HTTP request, before a socket
 * exists (@hono/node-server answers a refused upgrade with the status and closes the TCP
 * connection; ws never sees it): draining 503, Origin 403, token 401, per-user cap 429. The
 * user's slot is released when the TCP connection closes, however the upgrade ends.
 */
export function registerWsRoute(
  app: OpenAPIHono<AuthEnv>,
  { origins, tokens, cap, gateway, health }: WsRouteDeps
): void {
  app.openAPIRegistry.registerPath(
    createRoute({
      method: 'get',
      path: '/ws',
      summary:
        'Open the chat WebSocket (subprotocol chat.v1). Token: Authorization: Bearer, or the subprotocol bearer.<token>. Frames: see the README.',
      security: [{ bearerAuth: [] }],
      responses: {
        101: { description: 'Switching Protocols: the socket is open' },
        ...problemResponses(401, 403, 429, 503),
      },
    })
  )
  const authenticate = requireUser(tokens)
  const ws = app as unknown as OpenAPIHono<WsEnv>

  ws.get(
    '/ws',
    async function guardHandshake(c, next) {
      if (health.draining) {
        return problem(c, 503, 'draining', 'This instance is shutting down; connect to another', {
          headers: { 'Retry-After': '1' },
        })
      }
      const origin = origins.check(c.req.header('origin'))
      if (!origin.allowed) {
        return problem(c, 403, 'origin_not_allowed', `Origin refused (${origin.reason})`)
      }
      return authenticate(c as never, next)
    },
    async function capConnections(c, next) {
      const user = c.get('user')
      const release = cap.acquire(user)
      if (!release) {
        return problem(c, 429, 'too_many_connections', `${user} has too many open connections`)
      }
      // `on`, not `once`: 'close' fires once, and release is idempotent (no wrapper per socket).
      c.env.incoming.socket.on('close', release)
      c.set('release', release)
      await next()
    },
    upgradeWebSocket((c) => {
      // Read now: nothing below may hold the Context once the socket is open (adopt-socket.ts).
      const user = c.get('user') as string
      const release = c.get('release') as () => void
      return {
        onOpen(_event, socket) {
          // The raw ws socket: the gateway needs bufferedAmount, ping/pong and the prepared-frame
          // writes, and registers its own 'message' listener (no per-frame MessageEvent).
          adoptSocket(socket.raw as WebSocket, (ws) => gateway.accept(ws, user, release))
        },
      }
    })
  )
}
