import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const projectDir = fileURLToPath(new URL('..', import.meta.url))
const dataDir = mkdtempSync(join(tmpdir(), 'notifications-main-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

/** src/main.ts as `pnpm notifications` runs it (bundled there; the same code under tsx here). */
function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: projectDir,
    env: {
      ...process.env,
      // Embedded mode: its own redis-server in DATA_DIR/redis, local providers, a worker.
      REDIS_URL: '',
      SMTP_URLS: '',
      SMS_PROVIDER_URLS: '',
      PUSH_PROVIDER_URLS: '',
      WORKERS: '1',
      DATA_DIR: dataDir,
      DB_FILE: join(dataDir, 'notifications.db'),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stdout.resume()
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code))
  )
  return { child, exited, stderr: () => stderr }
}

/**
 * Processes this test's main.ts started, found by its data dir: the embedded redis-server runs in
 * it (`--dir` makes it its working directory; Redis rewrites its own command line), the worker
 * processes have it in their environment (DB_FILE).
 */
function processesUsing(dir: string): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (
        readlinkSync(`/proc/${entry}/cwd`).startsWith(dir) ||
        readFileSync(`/proc/${entry}/environ`, 'utf8').includes(dir)
      ) {
        found.push(Number(entry))
      }
    } catch {
      // Gone meanwhile, or another user's.
    }
  }
  return found
}

describe('src/main.ts (the embedded mode)', () => {
  it('when the port is taken, exits 1 with one line naming PORT and leaves no process behind', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    let leftBehind: number[] = []
    try {
      const main = startMain({ PORT: String(port) })

      const code = await main.exited
      leftBehind = processesUsing(dataDir)

      expect(code).toBe(1)
      const portLines = main
        .stderr()
        .split('\n')
        .filter((line) => line.includes('PORT'))
      expect(portLines).toEqual([
        `  PORT: ${port} is already in use on 127.0.0.1; set PORT to a free port`,
      ])
      expect(main.stderr()).not.toMatch(/\n\s+at /)
      // The embedded redis-server had started (it writes its AOF directory), and was stopped.
      expect(existsSync(join(dataDir, 'redis', 'appendonlydir'))).toBe(true)
      expect(leftBehind).toEqual([])
    } finally {
      for (const pid of leftBehind) process.kill(pid, 'SIGKILL')
      blocker.close()
    }
  }, 60_000)
})
