/**
 * The embedded mode's Redis: a private `redis-server` child configured as a queue needs it (AOF
 * everysec, noeviction), its files under DATA_DIR, on a free loopback port. Production points
 * REDIS_URL at a managed or compose Redis instead.
 */
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError } from '@kit/config'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'

export type EmbeddedRedis = { url: string; close(): Promise<void> }

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => done(port))
    })
  })
}

async function answers(port: number): Promise<boolean> {
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

/**
 * @throws {ConfigError} naming REDIS_URL when redis-server cannot be started.
 */
export async function startEmbeddedRedis({
  dataDir,
  logger,
}: {
  dataDir: string
  logger: Logger
}): Promise<EmbeddedRedis> {
  const dir = resolve(dataDir, 'redis')
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const bin = process.env.REDIS_SERVER_BIN || 'redis-server'
  const child = spawn(
    bin,
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no'],
      ...['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''],
      ...['--maxmemory-policy', 'noeviction'],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] }
  )
  let failure: string | undefined
  child.once('error', (error) => (failure = error.message))
  child.once('exit', (code) => (failure ??= `exited with code ${code}`))
  for (let i = 0; i < 200 && failure === undefined; i++) {
    if (await answers(port)) {
      logger.info(
        { port, dir, redisPid: child.pid },
        'embedded redis-server started (AOF everysec, noeviction)'
      )
      return {
        url: `redis://127.0.0.1:${port}`,
        async close() {
          if (child.exitCode !== null) return
          const exited = new Promise((done) => child.once('exit', done))
          child.kill('SIGTERM')
          await exited
        },
      }
    }
    await sleep(50)
  }
  child.kill('SIGKILL')
  throw new ConfigError([
    {
      key: 'REDIS_URL',
      message: `unset, and the embedded ${bin} could not start (${failure ?? 'no answer'}); install redis-server or set REDIS_URL`,
    },
  ])
}
