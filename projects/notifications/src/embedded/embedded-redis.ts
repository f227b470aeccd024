import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { ConfigError } from '@kit/config'
import { createRedis, waitForRedis } from '@kit/redis'

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => done(port))
    })
  })
}

/**
 * The embedded mode's Redis: a `redis-server` child on a free loopback port, configured as
 * BullMQ's production guide asks (noeviction; AOF every second, in `dir`, so queued deliveries
 * survive a restart). Stopped with SIGTERM, which makes it flush its AOF.
 */
export async function startEmbeddedRedis({
  dir,
  bin = process.env.REDIS_SERVER_BIN || 'redis-server',
}: {
  dir: string
  bin?: string
}) {
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const child = spawn(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      resolve(dir),
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' }
  )
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  const spawnError = new Promise<never>((_, fail) =>
    child.once('error', () =>
      fail(
        new ConfigError([
          {
            key: 'REDIS_URL',
            message: `unset, and ${bin} could not be started to embed one: install redis-server or set REDIS_URL`,
          },
        ])
      )
    )
  )
  const url = `redis://127.0.0.1:${port}`
  const probe = createRedis(url, {
    role: 'request',
    name: 'embedded-probe',
    logger: { warn: () => undefined, info: () => undefined },
  })
  try {
    await Promise.race([waitForRedis(probe, 10_000), spawnError])
  } finally {
    probe.disconnect()
  }
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await exited
    },
  }
}
