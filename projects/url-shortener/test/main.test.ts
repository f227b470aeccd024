import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { tempSqliteFile, waitFor } from '@kit/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'

const PROJECT = fileURLToPath(new URL('..', import.meta.url))

/** Runs src/main.ts as production does (through tsx instead of the bundle), capturing output. */
function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: PROJECT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = { stdout: '', stderr: '' }
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk))
  return { child, output }
}

describe('src/main.ts', () => {
  const db = tempSqliteFile('main')
  const children: ChildProcess[] = []
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    db.cleanup()
  })

  it('when started with an empty environment but a port and a file, serves, prints its key, and exits 0 on SIGTERM', async () => {
    const { child, output } = startMain({ PORT: '0', DB_FILE: db.path, LOG_LEVEL: 'info' })
    children.push(child)

    const url = await waitFor(() => /listening on (http:\/\/[^"\s]+)/.exec(output.stdout)?.[1], {
      timeoutMs: 25_000,
      message: 'main never said where it listens',
    })
    const apiKey = /management key is:\s+(\S+)/.exec(output.stdout)?.[1] ?? ''
    const health = await fetch(`${url}/healthz`)
    const listed = await fetch(`${url}/api/links`, {
      headers: { Authorization: `Bearer ${apiKey}` },
    })
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const [code] = await exited

    expect(health.status).toBe(200)
    expect(apiKey.length).toBeGreaterThanOrEqual(32)
    expect(listed.status).toBe(200)
    expect(code).toBe(0)
  }, 40_000)

  it('when REDIS_URL is set, caches redirects in Redis and reports it ready', async () => {
    const apiKey = 'main-test-key-0123456789'
    const keys = new Redis(inject('redisUrl'))
    const { child, output } = startMain({
      PORT: '0',
      DB_FILE: db.path,
      REDIS_URL: inject('redisUrl'),
      API_KEY: apiKey,
    })
    children.push(child)

    const url = await waitFor(() => /listening on (http:\/\/[^"\s]+)/.exec(output.stdout)?.[1], {
      timeoutMs: 25_000,
      message: 'main never said where it listens',
    })
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
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const [exitCode] = await exited
    keys.disconnect()

    expect(redirect.headers.get('location')).toBe('https://example.com/with-redis')
    expect(JSON.parse(cached)).toMatchObject({ target: 'https://example.com/with-redis' })
    expect(ready).toMatchObject({ status: 'ready', checks: { redis: 'up', sqlite: 'up' } })
    expect(output.stdout).not.toMatch(/management key is/)
    expect(exitCode).toBe(0)
  }, 40_000)

  it('when the environment is invalid, exits non-zero naming every bad key', async () => {
    const { child, output } = startMain({
      PORT: 'eighty',
      REDIRECT_STATUS: '303',
      DB_FILE: db.path,
    })
    children.push(child)

    const [code] = await once(child, 'exit')

    expect(code).not.toBe(0)
    expect(output.stderr).toMatch(/PORT/)
    expect(output.stderr).toMatch(/REDIRECT_STATUS/)
  }, 40_000)
})
