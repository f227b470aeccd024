import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { projectDir } from './helpers.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'task-queue-main-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

/** src/main.ts as `pnpm task-queue` runs it (bundled there; the same code under tsx here). */
function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: projectDir,
    env: {
      ...process.env,
      REDIS_URL: '',
      WORKERS: '',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code))
  )
  return { child, exited, output: () => output }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('src/main.ts (the embedded mode)', () => {
  it('when started with nothing set, runs its own Redis and a worker, serves jobs, and SIGTERM stops all of it', async () => {
    const main = startMain({ PORT: '0' })
    try {
      let url: string | undefined
      for (let i = 0; i < 300 && !url; i++) {
        url = /listening on (http:\/\/[^"\s]+)/.exec(main.output())?.[1]
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(url, main.output()).toBeDefined()
      expect(main.output()).toContain("ADMIN_KEY was not set; this run's admin key is:")

      const created = await fetch(`${url}/api/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'report.render',
          data: { reportId: 'r', pages: 2, msPerPage: 1 },
        }),
      })
      const { id } = (await created.json()) as { id: string }
      let state = ''
      for (let i = 0; i < 400 && state !== 'completed'; i++) {
        state = ((await (await fetch(`${url}/api/jobs/${id}`)).json()) as { state: string }).state
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const ready = await fetch(`${url}/readyz`)
      const children = [
        ...[...main.output().matchAll(/"pid":(\d+)[^\n]*"worker started"/g)].map((m) =>
          Number(m[1])
        ),
        Number(/"redisPid":(\d+)/.exec(main.output())?.[1]),
      ]

      expect(created.status).toBe(201)
      expect(state).toBe('completed')
      expect(await ready.json()).toEqual({
        status: 'ready',
        checks: { redis: 'up', 'eviction-policy': 'up' },
      })

      main.child.kill('SIGTERM')
      expect(await main.exited).toBe(0)
      expect(children).toHaveLength(2)
      expect(children.filter(alive)).toEqual([])
      expect(main.output()).toContain('shutdown complete')
    } finally {
      main.child.kill('SIGKILL')
    }
  }, 60_000)

  it('when the port is taken, exits 1 with one line naming PORT and leaves no process behind', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const main = startMain({ PORT: String(port) })

      expect(await main.exited).toBe(1)
      expect(main.output()).toContain(`PORT: ${port} is already in use`)
      expect(main.output()).not.toMatch(/\n\s+at /)
      const redisPid = Number(/"redisPid":(\d+)/.exec(main.output())?.[1])
      expect(redisPid).toBeGreaterThan(0)
      expect(alive(redisPid)).toBe(false)
    } finally {
      blocker.close()
    }
  }, 60_000)
})
