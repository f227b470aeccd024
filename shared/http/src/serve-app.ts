import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { serve, type WebSocketServerLike } from '@hono/node-server'
import { ConfigError } from '@kit/config'
import type { Logger } from 'pino'
import type { Health } from './health.ts'

export type ServeAppOptions = {
  /** 0 picks a free port. */
  port: number
  /** Default '0.0.0.0' (every IPv4 interface, as in a container). */
  hostname?: string
  logger: Logger
  /** Set draining at shutdown, so /readyz answers 503 'draining'. */
  health?: Health
  /** Time to keep serving after readiness turned 503, for the load balancer to notice
   * (Kubernetes removes endpoints asynchronously). Default 0; e.g. 5000 behind a balancer. */
  drainDelayMs?: number
  /** Bound on waiting for in-flight requests; after it, connections are cut. Default 10000. */
  shutdownTimeoutMs?: number
  /** Added to the one `listening on <url>` log line (what this instance runs with). */
  listeningFields?: Record<string, unknown>
  /** After the server closed: flush buffers, close Redis and the DB. */
  onShutdown?: () => Promise<void> | void
  /** Shut down on SIGTERM/SIGINT. Default true; false in tests. */
  handleSignals?: boolean
  /** Passed to @hono/node-server: a `ws` server created with `noServer: true`. */
  websocket?: { server: WebSocketServerLike }
  /** Node's slowloris guards, set explicitly. Defaults 10000 / 30000 / 5000 ms. */
  headersTimeoutMs?: number
  requestTimeoutMs?: number
  keepAliveTimeoutMs?: number
}

export type ServedApp = {
  /** 'http://<host>:<port>' (127.0.0.1 when bound to every interface). */
  url: string
  port: number
  server: Server
  /** Drains and closes; idempotent (every call returns the same promise). */
  shutdown(reason?: string): Promise<void>
  /** Resolves when a shutdown (by signal or call) has completed. */
  closed: Promise<void>
}

/**
 * A port another process holds, or one this user may not bind, is the operator's setting to
 * change: a ConfigError naming PORT, which main.ts prints as one line.
 */
function listenError(error: NodeJS.ErrnoException, port: number, hostname: string): Error {
  if (error.code === 'EADDRINUSE') {
    return new ConfigError([
      { key: 'PORT', message: `${port} is already in use on ${hostname}; set PORT to a free port` },
    ])
  }
  if (error.code === 'EACCES') {
    return new ConfigError([
      { key: 'PORT', message: `${port} needs privileges to bind; set PORT above 1023` },
    ])
  }
  return error
}

/**
 * Serves a Hono app with @hono/node-server and shuts down gracefully. On SIGTERM/SIGINT or
 * `shutdown()`: /readyz turns 503 'draining', the server keeps serving for `drainDelayMs`,
 * stops accepting connections and waits for in-flight requests (bounded by
 * `shutdownTimeoutMs`), then runs `onShutdown`, removes its signal handlers and resolves.
 * Resolves once listening; a port in use rejects with a ConfigError naming PORT.
 *
 * @example
 * ```ts
 * // main.ts
 * const { closed } = await serveApp(app, {
 *   port: config.PORT, logger, health, drainDelayMs: 5000,
 *   onShutdown: async () => { await redis.quit(); db.close() },
 * })
 * await closed // the process then exits 0 on its own: nothing is left open
 * ```
 */
export async function serveApp(
  app: { fetch: Parameters<typeof serve>[0]['fetch'] },
  {
    port,
    hostname = '0.0.0.0',
    logger,
    health,
    drainDelayMs = 0,
    shutdownTimeoutMs = 10_000,
    listeningFields,
    onShutdown,
    handleSignals = true,
    websocket,
    headersTimeoutMs = 10_000,
    requestTimeoutMs = 30_000,
    keepAliveTimeoutMs = 5_000,
  }: ServeAppOptions
): Promise<ServedApp> {
  const server = await new Promise<Server>((resolve, reject) => {
    const created = serve(
      { fetch: app.fetch, port, hostname, ...(websocket ? { websocket } : {}) },
      () => {
        created.off('error', reject)
        resolve(created as Server)
      }
    )
    created.once('error', (error: NodeJS.ErrnoException) =>
      reject(listenError(error, port, hostname))
    )
    // Read per connection, so setting them before the first one is accepted is enough.
    const http = created as Server
    http.headersTimeout = headersTimeoutMs
    http.requestTimeout = requestTimeoutMs
    http.keepAliveTimeout = keepAliveTimeoutMs
  })
  const boundPort = (server.address() as AddressInfo).port
  const host = hostname === '0.0.0.0' || hostname === '::' ? '127.0.0.1' : hostname
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`

  let resolveClosed!: () => void
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve))
  let shuttingDown: Promise<void> | undefined

  const onSignal = (signal: NodeJS.Signals) => void shutdown(signal)
  const signals = ['SIGTERM', 'SIGINT'] as const
  if (handleSignals) for (const signal of signals) process.on(signal, onSignal)

  function shutdown(reason = 'shutdown'): Promise<void> {
    shuttingDown ??= drainAndClose(reason)
    return shuttingDown
  }

  async function drainAndClose(reason: string): Promise<void> {
    logger.info({ reason, drainDelayMs }, 'shutting down: draining')
    health?.setDraining()
    // Requests that arrive on kept-alive sockets from now on get their socket closed after the
    // response. Added only now (and before the app's listener), so serving costs nothing before.
    server.prependListener('request', (_req, res) => {
      if (!res.headersSent) res.setHeader('connection', 'close')
    })
    if (drainDelayMs > 0) await delay(drainDelayMs)

    const allClosed = new Promise<void>((resolve) => server.close(() => resolve()))
    // close() only ends sockets idle at that instant (Node >= 19); a socket still serving a
    // request becomes idle later, so keep closing idle ones until none is left.
    const idleSweep = setInterval(() => server.closeIdleConnections(), 50)
    let deadline: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timedOut'>((resolve) => {
      deadline = setTimeout(resolve, shutdownTimeoutMs, 'timedOut')
    })
    if ((await Promise.race([allClosed, timedOut])) === 'timedOut') {
      logger.warn({ shutdownTimeoutMs }, 'requests still in flight: closing their connections')
      // Not awaiting `allClosed` again: upgraded (WebSocket) sockets are not HTTP connections
      // any more, closeAllConnections() does not see them, and onShutdown must still run.
      server.closeAllConnections()
    }
    clearTimeout(deadline)
    clearInterval(idleSweep)

    try {
      await onShutdown?.()
    } catch (err) {
      logger.error({ err }, 'onShutdown failed')
    }
    for (const signal of signals) process.off(signal, onSignal)
    logger.info({ reason }, 'shutdown complete')
    resolveClosed()
  }

  logger.info({ url, ...listeningFields }, `listening on ${url}`)
  return { url, port: boundPort, server, shutdown, closed }
}
