import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { pathToFileURL } from 'node:url'
import type { BenchTarget, StartedTarget } from './types.ts'

export type SpawnTargetOptions = {
  name: string
  kind: BenchTarget['kind']
  /** Compiled JavaScript (run with `node`) or a `.ts` file (run with `node --import tsx`). */
  entry: string
  args?: string[]
  /** Added to the parent's env; PORT is always set to the free port chosen. NODE_ENV defaults to production. */
  env?: Record<string, string>
  /** Polled until it answers 200 (default '/healthz'). */
  readyPath?: string
  cwd?: string
  /** How long the target may take to answer `readyPath` (default 20 s). */
  startTimeoutMs?: number
}

/** Thrown when a target exits or never becomes ready; carries the tail of its output. */
export class TargetStartError extends Error {
  readonly output: string
  constructor(message: string, output: string) {
    super(output ? `${message}\n--- last output ---\n${output}` : message)
    this.name = this.constructor.name
    this.output = output
  }
}

const running = new Set<ChildProcess>()
let exitHookInstalled = false

/** Never leave a target behind: a crash or Ctrl-C of the benchmark kills what it spawned. */
function installExitHook() {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL')
  })
}

/** A port nobody listens on right now (the OS picks it, we release it for the target). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

function nodeArgs(entry: string, args: readonly string[]): string[] {
  // Node 20 cannot strip types; tsx's loader, registered in the same process, keeps the pid ours.
  return /\.[cm]?ts$/.test(entry) ? ['--import', tsxLoader, entry, ...args] : [entry, ...args]
}

/** Keeps the last few KB of a stream, for error messages, without holding a chatty target's logs. */
function tail(limit = 4096) {
  let text = ''
  return {
    push(chunk: Buffer) {
      text = (text + chunk.toString('utf8')).slice(-limit)
    },
    get text() {
      return text.trim()
    },
  }
}

/**
 * A benchmark target run as a child process, so its CPU time is measured apart from the load
 * generator. `start()` picks a free port (passed as PORT), spawns `node <entry> [args]` (a `.ts`
 * entry through tsx) and resolves once `GET <readyPath>` answers 200; `stop()` sends SIGTERM and
 * resolves when the process has exited (SIGKILL after 10 s).
 * @example
 * ```ts
 * const subject = spawnTarget({
 *   name: 'url-shortener', kind: 'subject', entry: 'dist/main.js',
 *   env: { DB_FILE: '/tmp/bench.db' },
 * })
 * ```
 */
export function spawnTarget({
  name,
  kind,
  entry,
  args = [],
  env = {},
  readyPath = '/healthz',
  cwd = process.cwd(),
  startTimeoutMs = 20_000,
}: SpawnTargetOptions): BenchTarget {
  return {
    name,
    kind,
    async start(): Promise<StartedTarget> {
      installExitHook()
      const port = await freePort()
      const url = `http://127.0.0.1:${port}`
      const output = tail()
      const child = spawn(process.execPath, nodeArgs(entry, args), {
        cwd,
        env: { ...process.env, NODE_ENV: 'production', ...env, PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      // Without a listener, a failed spawn would throw from the 'error' event.
      child.on('error', (error) => output.push(Buffer.from(`${error.message}\n`)))
      if (child.pid === undefined) {
        throw new TargetStartError(
          `target ${name}: could not spawn ${process.execPath}`,
          output.text
        )
      }
      const { pid } = child
      running.add(child)
      child.stdout.on('data', (chunk: Buffer) => output.push(chunk))
      child.stderr.on('data', (chunk: Buffer) => output.push(chunk))
      const exited = once(child, 'exit').then(([code, signal]) => {
        running.delete(child)
        return { code: code as number | null, signal: signal as NodeJS.Signals | null }
      })

      async function stop() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM')
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
          await exited
          clearTimeout(timer)
        }
      }

      const failure = await waitForReady(`${url}${readyPath}`, startTimeoutMs, () =>
        child.exitCode === null && child.signalCode === null
          ? null
          : `exited (code ${child.exitCode}, signal ${child.signalCode})`
      )
      if (failure !== null) {
        await stop()
        throw new TargetStartError(
          `target ${name} (${entry}) ${failure} before ${readyPath} answered 200`,
          output.text
        )
      }
      return { url, pid, stop }
    },
  }
}

/** Polls (a booting process emits nothing to await); null once ready, else why it is not. */
async function waitForReady(
  url: string,
  timeoutMs: number,
  exitReason: () => string | null
): Promise<string | null> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    const exited = exitReason()
    if (exited !== null) return exited
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await res.body?.cancel()
      if (res.status === 200) return null
      last = `answered ${res.status}`
    } catch (error) {
      last = (error as Error).message
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return `did not become ready within ${timeoutMs} ms (last: ${last})`
}
