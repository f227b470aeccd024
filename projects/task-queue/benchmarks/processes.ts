/**
 * Child processes of the queue benchmark and their CPU: the service's API and worker (the
 * built dist/ files, as production runs them), the bare baselines (benchmarks/bare.ts under
 * tsx), and Redis's own CPU from INFO.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { freePort } from '@kit/bench'
import type { Redis } from 'ioredis'

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const TICKS = 100

/** utime + stime of a process, in seconds (Linux /proc). */
export async function processCpu(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS
}

/** CPU seconds redis-server has used (INFO cpu: user + sys). */
export async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu')
  const read = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0)
  return read('used_cpu_user') + read('used_cpu_sys')
}

export type Child = {
  child: ChildProcess
  pid: number
  /** Resolves with the first stdout line that `match` accepts. */
  line(match: (line: string) => boolean, timeoutMs?: number): Promise<string>
  stop(): Promise<void>
}

export function startChild(entry: string, env: Record<string, string>, cwd: string): Child {
  const argv = entry.endsWith('.ts') ? ['--import', tsx, entry] : ['--enable-source-maps', entry]
  const child = spawn(process.execPath, argv, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines: string[] = []
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = []
  let buffered = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    for (const line of parts) {
      lines.push(line)
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
    }
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    child,
    pid: child.pid!,
    line(match, timeoutMs = 60_000) {
      const seen = lines.find(match)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${entry}: no matching line in ${timeoutMs} ms`)),
          timeoutMs
        )
        waiters.push({ match, resolve: (line) => (clearTimeout(timer), resolve(line)) })
        void exited.then(() => reject(new Error(`${entry} exited (${child.exitCode})`)))
      })
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await exited
    },
  }
}

export type Api = Child & { url: string }

/** The service's API (dist/main.js) with no worker of its own. */
export async function startApi(projectDir: string, env: Record<string, string>): Promise<Api> {
  const port = await freePort()
  const api = startChild(
    join(projectDir, 'dist', 'main.js'),
    {
      PORT: String(port),
      WORKERS: '0',
      LOG_LEVEL: 'warn',
      ADMIN_KEY: 'bench-admin-key-0123456789',
      ...env,
    },
    projectDir
  )
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false
    )
    if (ok) return { ...api, url }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await api.stop()
  throw new Error('the API did not become ready')
}

/** The service's worker (dist/worker-main.js); resolves once it logged 'worker started'. */
export async function startServiceWorker(
  projectDir: string,
  env: Record<string, string>
): Promise<Child> {
  const worker = startChild(
    join(projectDir, 'dist', 'worker-main.js'),
    { LOG_LEVEL: 'info', ...env },
    projectDir
  )
  await worker.line((line) => line.includes('"worker started"'))
  return worker
}

/** A bare BullMQ baseline (benchmarks/bare.ts); resolves once it printed {"ready":true}. */
export async function startBare(projectDir: string, env: Record<string, string>): Promise<Child> {
  const bare = startChild(join(projectDir, 'benchmarks', 'bare.ts'), env, projectDir)
  await bare.line((line) => line.startsWith('{"ready"'))
  return bare
}

/**
 * Bare Hono answering the enqueue routes: with no queue behind them (bare.ts MODE=http), or
 * awaiting queue.add / addBulk and nothing else (MODE=http-add).
 */
export async function startBareHttp(
  projectDir: string,
  env: Record<string, string>,
  mode: 'http' | 'http-add' = 'http'
): Promise<Api> {
  const port = await freePort()
  const bare = await startBare(projectDir, { ...env, MODE: mode, PORT: String(port) })
  return { ...bare, url: `http://127.0.0.1:${port}` }
}

export type BareResult = { jobs: number; seconds: number; cpuSeconds: number }

export async function bareResult(bare: Child): Promise<BareResult> {
  return JSON.parse(await bare.line((line) => line.startsWith('{"jobs"'), 300_000)) as BareResult
}
