import type { WebSocket } from 'ws'

/**
 * Pings every tracked socket each `intervalMs` and terminates the ones that did not answer the
 * previous ping (the ws README's "detect and close broken connections"): a peer that vanished
 * without a FIN, or stopped reading, is gone within two intervals instead of holding its socket
 * and buffers until the OS gives up (hours). `terminate`, not `close`: a close handshake would
 * wait for the dead peer.
 *
 * @example
 * ```ts
 * const heartbeat = createHeartbeat({ intervalMs: 30_000 })
 * wss.on('connection', (ws) => heartbeat.track(ws))
 * ```
 */
export function createHeartbeat({
  intervalMs,
  onTerminate = () => {},
}: {
  intervalMs: number
  /** Called for each socket terminated for missing a pong. */
  onTerminate?: (ws: WebSocket) => void
}) {
  const sockets = new Set<WebSocket>()
  const answered = new WeakSet<WebSocket>()
  // Shared by every socket (`this` is the socket): no closure per connection.
  const markAlive = function (this: WebSocket) {
    answered.add(this)
  }
  const forget = function (this: WebSocket) {
    sockets.delete(this)
  }

  const timer = setInterval(() => {
    for (const ws of sockets) {
      if (!answered.has(ws)) {
        sockets.delete(ws)
        onTerminate(ws)
        ws.terminate()
        continue
      }
      answered.delete(ws)
      ws.ping()
    }
  }, intervalMs)
  timer.unref()

  return {
    /** Starts watching `ws`; it is forgotten when it closes. */
    track(ws: WebSocket): void {
      sockets.add(ws)
      answered.add(ws)
      ws.on('pong', markAlive)
      ws.on('close', forget)
    },
    /** Sockets watched now. */
    size: () => sockets.size,
    stop(): void {
      clearInterval(timer)
    },
  }
}
