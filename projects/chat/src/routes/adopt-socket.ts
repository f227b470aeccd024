import type { WebSocket } from 'ws'

const HELPER_EVENTS = ['message', 'close', 'error'] as const

/**
 * Runs `accept(ws)` (which attaches the gateway's own listeners), then drops the listeners
 * @hono/node-server's `upgradeWebSocket` helper attaches right after `onOpen` returns.
 *
 * A memory trick, kept to this file. The helper keeps a 'message', a 'close' and an 'error'
 * listener on every socket for its whole life; they only forward to `onMessage`/`onClose`/
 * `onError`, which this app does not define (the gateway listens on the raw socket), so they do
 * nothing, yet their closures hold the upgrade request's Hono Context: the WHATWG Request and its
 * Headers, the IncomingMessage, the middleware variables. Measured in-process (2,000 joined
 * sockets, heap after a full GC, both ends of each connection counted): 18.6 MB per 1,000
 * connections with them, 7.4 MB without; FinalizationRegistry showed every Context retained
 * with them and every one collected without.
 *
 * The helper attaches them synchronously after `onOpen`, so a microtask queued from `onOpen`
 * runs once they are there; anything attached after `accept` and before then is the helper's.
 *
 * @example
 * ```ts
 * upgradeWebSocket(() => ({ onOpen: (_e, socket) => adoptSocket(socket.raw as WebSocket, gateway.accept) }))
 * ```
 */
export function adoptSocket(ws: WebSocket, accept: (ws: WebSocket) => void): void {
  accept(ws)
  const ours = new Map(HELPER_EVENTS.map((event) => [event, new Set(ws.listeners(event))]))
  queueMicrotask(() => {
    for (const event of HELPER_EVENTS) {
      for (const listener of ws.listeners(event)) {
        if (!ours.get(event)!.has(listener)) ws.off(event, listener as (...args: unknown[]) => void)
      }
    }
  })
}
