import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, statSync } from 'node:fs'
import { Agent, request as httpRequest } from 'node:http'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { tempSqliteFile, waitFor } from '@kit/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'

const PROJECT = fileURLToPath(new URL('..', import.meta.url))
const children: ChildProcess[] = []
const files: ReturnType<typeof tempSqliteFile>[] = []
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  for (const file of files) file.cleanup()
})

/** A database path in a fresh temp dir (the key file, when generated, goes beside it). */
function databaseFile(): string {
  const file = tempSqliteFile('main')
  files.push(file)
  return file.path
}

/** Runs src/main.ts as production does (through tsx instead of the bundle), capturing output. */
function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: PROJECT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  const output = { stdout: '', stderr: '' }
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk))
  const listening = () =>
    waitFor(() => /listening on (http:\/\/[^"\s]+)/.exec(output.stdout)?.[1], {
      timeoutMs: 25_000,
      message: 'main never said where it listens',
    })
  return { child, output, listening }
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const [code] = (await exited) as [number | null]
  return code
}

describe('src/main.ts', () => {
  it('when API_KEY is unset, generates a key into a 0600 file beside the database, never logs it, and reads it again on the next start', async () => {
    const dbFile = databaseFile()
    const keyFile = dbFile.replace(/\.db$/, '.api-key')
    const first = startMain({ PORT: '0', DB_FILE: dbFile, LOG_LEVEL: 'debug' })
    const url = await first.listening()
    const key = readFileSync(keyFile, 'utf8').trim()
    const listed = await fetch(`${url}/api/links`, { headers: { Authorization: `Bearer ${key}` } })
    const health = await fetch(`${url}/healthz`)
    const firstExit = await stop(first.child)
    const second = startMain({ PORT: '0', DB_FILE: dbFile })
    const secondUrl = await second.listening()
    const again = await fetch(`${secondUrl}/api/links`, { headers: { 'X-API-Key': key } })
    const secondExit = await stop(second.child)

    expect([health.status, listed.status, again.status]).toEqual([200, 200, 200])
    expect(key.length).toBeGreaterThanOrEqual(32)
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    expect(first.output.stdout + first.output.stderr).not.toContain(key)
    expect(second.output.stdout + second.output.stderr).not.toContain(key)
    expect(first.output.stderr).toBe(
      `API_KEY is not set: the management key is generated in ${keyFile} (mode 0600)\n`
    )
    expect(second.output.stderr).toMatch(`is read from ${keyFile}`)
    expect([firstExit, secondExit]).toEqual([0, 0])
  }, 60_000)

  it('when REDIS_URL is set, caches redirects in Redis and reports it ready', async () => {
    const apiKey = 'main-test-key-0123456789'
    const keys = new Redis(inject('redisUrl'))
    const { child, output, listening } = startMain({
      PORT: '0',
      DB_FILE: databaseFile(),
      REDIS_URL: inject('redisUrl'),
      API_KEY: apiKey,
    })

    const url = await listening()
    const created = await fetch(`${url}/api/links`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey },
      body: JSON.stringify({ url: 'https://example.com/with-redis' }),
    })
    const { code } = (await created.json()) as { code: string }
    const redirect = await fetch(`${url}/${code}`, { redirect: 'manual' })
    const cached = await waitFor(async () => {
      const [key] = await keys.keys(`url-shortener:link:*:{${code}}`)
      return key === undefined ? null : keys.get(key)
    })
    const ready = await (await fetch(`${url}/readyz`)).json()
    const exitCode = await stop(child)
    keys.disconnect()

    expect(redirect.headers.get('location')).toBe('https://example.com/with-redis')
    expect(JSON.parse(cached)).toMatchObject({ target: 'https://example.com/with-redis' })
    expect(ready).toMatchObject({ status: 'ready', checks: { redis: 'up', sqlite: 'up' } })
    expect(output.stderr).toBe('')
    expect(exitCode).toBe(0)
  }, 40_000)

  it('when the environment is invalid, exits 1 with one line per bad key and no stack trace', async () => {
    const { child, output } = startMain({
      PORT: 'eighty',
      REDIRECT_STATUS: '303',
      DB_FILE: databaseFile(),
    })

    const [code] = await once(child, 'exit')

    expect(code).toBe(1)
    expect(output.stderr.trimEnd().split('\n')).toEqual([
      'Invalid configuration:',
      expect.stringMatching(/^ {2}PORT: /),
      expect.stringMatching(/^ {2}REDIRECT_STATUS: /),
    ])
  }, 40_000)

  it('when the port is taken, exits 1 with one line naming the port and PORT', async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const port = (holder.address() as AddressInfo).port
    const { child, output } = startMain({
      PORT: String(port),
      HOST: '127.0.0.1',
      DB_FILE: databaseFile(),
      API_KEY: 'main-test-key-0123456789',
    })

    const [code] = await once(child, 'exit')
    holder.close()

    expect(code).toBe(1)
    expect(output.stderr).toBe(
      `Invalid configuration:\n  PORT: ${port} is already in use on 127.0.0.1; set PORT to a free port\n`
    )
    expect(output.stdout).not.toMatch(/\bat .*\.ts:\d+/)
  }, 40_000)

  it('when SIGTERM arrives while 50 keep-alive connections send requests, each gets Connection: close on a complete answer and none is reset', async () => {
    const apiKey = 'main-test-key-0123456789'
    const { child, output, listening } = startMain({
      PORT: '0',
      DB_FILE: databaseFile(),
      API_KEY: apiKey,
      DRAIN_DELAY_MS: '2000',
      TRACK_CLICKS: 'false',
    })
    const url = new URL(await listening())
    const created = await fetch(`${url.origin}/api/links`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey },
      body: JSON.stringify({ url: 'https://example.com/drain' }),
    })
    const { code } = (await created.json()) as { code: string }
    const agent = new Agent({ keepAlive: true, maxSockets: 50 })
    const get = () =>
      new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        const req = httpRequest(
          { host: url.hostname, port: url.port, path: `/${code}`, agent },
          (res) => {
            res.resume()
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection })
            )
          }
        )
        req.on('error', reject)
        req.end()
      })
    let requests = 0
    const errors: string[] = []
    // 50 clients, one kept-alive connection each, requesting until the server says close.
    const clients = Array.from({ length: 50 }, async () => {
      for (;;) {
        try {
          const res = await get()
          requests++
          if (res.status !== 302) errors.push(`status ${res.status}`)
          if (res.connection === 'close') return 'closed'
        } catch (error) {
          errors.push((error as NodeJS.ErrnoException).code ?? String(error))
          return 'error'
        }
      }
    })

    await waitFor(() => requests >= 500 && Object.keys(agent.sockets).length > 0, {
      message: 'clients never got going',
    })
    const sockets =
      Object.values(agent.sockets).flat().length + Object.values(agent.freeSockets).flat().length
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await waitFor(() => output.stdout.includes('shutting down: draining'), {
      message: 'never started draining',
    })
    const readyWhileDraining = await fetch(`${url.origin}/readyz`).then(
      (res) => res.status,
      (error: Error) => (error.cause instanceof Error ? error.cause.message : error.message)
    )
    const outcomes = await Promise.all(clients)
    const [exitCode] = await exited
    agent.destroy()

    expect(errors).toEqual([])
    expect(outcomes.filter((outcome) => outcome === 'closed')).toHaveLength(50)
    expect(sockets).toBe(50)
    expect(readyWhileDraining).toBe(503)
    expect(exitCode).toBe(0)
  }, 60_000)
})
