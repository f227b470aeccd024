/**
 * The chat service. The only file that reads the environment, listens and handles signals:
 * SIGTERM/SIGINT turn readiness to 503, close every socket with 1001 (clients reconnect to
 * another instance and resume), drain HTTP, then close the stores.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { exitOnConfigError } from '@kit/config'
import { createLogger, serveApp } from '@kit/http'
import { loadConfig } from './config.ts'
import { createChatService } from './service.ts'

try {
  const config = loadConfig(process.env)
  const logger = createLogger({ name: 'chat', level: config.LOG_LEVEL })
  const chat = await createChatService(config, { logger })
  await chat.ready().catch((err: unknown) => {
    // Subscribers wait and commands fail fast: the instance serves 503s until Redis is back.
    logger.warn(
      { err },
      'Redis not ready at start: handshakes and frames get 503/unavailable until it is'
    )
  })

  const served = await serveApp(chat.app, {
    port: config.PORT,
    hostname: config.HOST,
    logger,
    health: chat.health,
    handleSignals: false,
    websocket: { server: chat.wss },
    listeningFields: {
      mode: chat.mode,
      instance: chat.instanceId,
      origins: config.ALLOWED_ORIGINS,
    },
    onShutdown: () => chat.close(),
  })

  let stopping = false
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'stopping: readiness 503, closing sockets with 1001')
    chat.health.setDraining()
    if (config.DRAIN_DELAY_MS > 0) await delay(config.DRAIN_DELAY_MS)
    await chat.drain()
    await served.shutdown(signal)
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, (s) => void stop(s))
} catch (error) {
  exitOnConfigError(error)
}
