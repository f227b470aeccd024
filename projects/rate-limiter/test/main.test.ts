import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { freePort } from '@kit/testing'
import { describe, expect, it, onTestFinished } from 'vitest'

const main = new URL('../src/main.ts', import.meta.url).pathname

/** Runs src/main.ts with only `env` set (as an operator would) until it exits. */
async function runMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  child.stdout.resume()
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  const [code] = (await once(child, 'exit')) as [number | null]
  clearTimeout(timer)
  return { code, stderr }
}

describe('src/main.ts', () => {
  it('when several variables are bad, prints one line per key, no stack trace, and exits 1', async () => {
    const { code, stderr } = await runMain({ PORT: '0', REDIS_URL: 'redis://' })

    expect(code).toBe(1)
    expect(stderr).toBe(
      'Invalid configuration:\n' +
        '  PORT: 0 is not a port: use 1-65535\n' +
        '  REDIS_URL: names no host: use redis://<host>:<port>\n'
    )
  })

  it('when the port is taken, prints one line naming the port and PORT, and exits 1', async () => {
    const port = await freePort()
    const holder = createServer().listen(port, '127.0.0.1')
    await once(holder, 'listening')
    onTestFinished(() => void holder.close())

    const { code, stderr } = await runMain({ PORT: String(port), LOG_LEVEL: 'silent' })

    expect(code).toBe(1)
    expect(stderr).toBe(
      `Invalid configuration:\n  PORT: ${port} is already in use on 127.0.0.1; set PORT to a free port\n`
    )
  })
})
