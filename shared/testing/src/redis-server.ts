import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { freePort } from './free-port.ts'

/** A redis-server child process that a test can stop, kill -9, restart and freeze. */
export type RedisServer = {
  readonly port: number
  /** 'redis://127.0.0.1:<port>' */
  readonly url: string
  /** The server's working dir (AOF files live here); removed when the test process exits. */
  readonly dir: string
  /** The cluster bus port (`cluster: true` only): kept, like `port`, across restarts. */
  readonly busPort?: number
  /** False between stop()/kill() and restart(), or after the process died on its own. */
  readonly running: boolean
  /** SIGTERM, resolves when the process has exited. */
  stop(): Promise<void>
  /** SIGKILL (kill -9), resolves when the process has exited. */
  kill(): Promise<void>
  /** Starts again on the SAME port and dir (after stop/kill); resolves when it answers PING. */
  restart(): Promise<void>
  /** SIGSTOP: a frozen server (connections stay open, nothing answers). */
  pause(): void
  /** SIGCONT: the frozen server answers again, queued commands first. */
  resume(): void
}

export type StartRedisServerOptions = {
  /** Port to bind on 127.0.0.1; default a free one. */
  port?: number
  /** AOF with `appendfsync everysec` in the temp dir; default off (no persistence at all). */
  appendonly?: boolean
  /**
   * A Redis Cluster node: `--cluster-enabled yes`, its `nodes.conf` in the temp dir (so a
   * restarted node keeps its identity), and a cluster bus port chosen free like `port`
   * (`--cluster-port`) instead of the default port + 10000, which may be taken or past 65535.
   * Join nodes into a cluster with `startRedisCluster()`. Default off.
   */
  cluster?: boolean
  /** Extra `redis-server` arguments, appended last so they win, e.g. ['--maxmemory', '10mb']. */
  args?: string[]
  /** How long to wait for the first PONG; default 10000. */
  startTimeoutMs?: number
}

/** redis-server could not be started, or died before it answered PING. */
export class RedisServerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = this.constructor.name
  }
}

// Children and dirs still alive. A test file that forgets stop(), or a worker that crashes,
// must not leave a redis-server behind: 'exit' handlers run synchronously, so SIGKILL.
const liveChildren = new Set<ChildProcess>()
const tempDirs = new Set<string>()
let exitHookInstalled = false

/** Removes a server's temp dir now (its process must have exited), instead of at process exit. */
export function removeServerDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  const cleanup = () => {
    for (const child of liveChildren) child.kill('SIGKILL')
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  }
  process.on('exit', cleanup)
  // A test worker ended by a signal (a runner tearing down its pool) runs no 'exit' handlers, and
  // its redis-servers would outlive it. Clean up, then die of the signal as if nobody listened.
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanup()
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    })
  }
}

type Ports = { port: number; busPort?: number }

type Running = {
  child: ChildProcess
  exited: Promise<void>
  hasExited(): boolean
  output(): string
}

/**
 * Spawns `redis-server` (bin from REDIS_SERVER_BIN or PATH) on 127.0.0.1, with no persistence
 * unless `appendonly`, and resolves once it answers PING. Fault tests use the handle to stop,
 * kill -9, restart or freeze the server; tests that only need a Redis use the global setup.
 *
 * @example
 * ```ts
 * const redis = await startRedisServer()
 * afterAll(() => redis.stop())
 * await redis.kill()      // outage
 * await redis.restart()   // same port, answers PING again
 * ```
 */
export async function startRedisServer({
  port,
  appendonly = false,
  cluster = false,
  args = [],
  startTimeoutMs = 10_000,
}: StartRedisServerOptions = {}): Promise<RedisServer> {
  installExitHook()
  const bin = process.env.REDIS_SERVER_BIN || 'redis-server'
  const dir = mkdtempSync(join(tmpdir(), cluster ? 'kit-redis-cluster-' : 'kit-redis-'))
  tempDirs.add(dir)

  const argv = ({ port: p, busPort }: Ports) => [
    ...['--port', String(p), '--bind', '127.0.0.1', '--daemonize', 'no', '--dir', dir],
    // No RDB snapshots; AOF only when asked (everysec, the recommended policy).
    ...['--save', '', '--appendonly', appendonly ? 'yes' : 'no', '--appendfsync', 'everysec'],
    ...(busPort === undefined
      ? []
      : [
          ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
          ...['--cluster-port', String(busPort)],
        ]),
    ...args,
  ]

  // A port picked by freePort() can be taken before redis binds it, and a port just released
  // by a killed server can still be held for a moment: retry a few times before giving up.
  const launchWithRetry = async (pick: () => Promise<Ports>): Promise<[Ports, Running]> => {
    let lastError: unknown
    for (let attempt = 0; attempt < 5; attempt++) {
      const ports = await pick()
      try {
        return [ports, await launch(bin, argv(ports), ports.port, startTimeoutMs)]
      } catch (error) {
        lastError = error
        if (!(error instanceof RedisServerError && /already in use/i.test(error.message))) break
        await delay(100 * (attempt + 1))
      }
    }
    throw lastError
  }

  const pickPorts = async (): Promise<Ports> => {
    const main = port ?? (await freePort())
    if (!cluster) return { port: main }
    let busPort = await freePort()
    while (busPort === main) busPort = await freePort()
    return { port: main, busPort }
  }
  const [bound, first] = await launchWithRetry(pickPorts)
  let running = first
  let paused = false

  const terminate = async (signal: 'SIGTERM' | 'SIGKILL') => {
    if (running.hasExited()) return
    running.child.kill(signal)
    // A stopped process only acts on SIGTERM once it runs again.
    if (paused) running.child.kill('SIGCONT')
    paused = false
    await running.exited
  }

  return {
    port: bound.port,
    url: `redis://127.0.0.1:${bound.port}`,
    dir,
    ...(bound.busPort === undefined ? {} : { busPort: bound.busPort }),
    get running() {
      return !running.hasExited()
    },
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
    async restart() {
      await terminate('SIGTERM')
      ;[, running] = await launchWithRetry(() => Promise.resolve(bound))
    },
    pause() {
      if (running.hasExited() || paused) return
      running.child.kill('SIGSTOP')
      paused = true
    },
    resume() {
      if (running.hasExited() || !paused) return
      running.child.kill('SIGCONT')
      paused = false
    },
  }
}

async function launch(
  bin: string,
  argv: string[],
  port: number,
  timeoutMs: number
): Promise<Running> {
  const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  liveChildren.add(child)
  let output = ''
  const collect = (chunk: string) => {
    output = (output + chunk).slice(-4000)
  }
  child.stdout?.setEncoding('utf8').on('data', collect)
  child.stderr?.setEncoding('utf8').on('data', collect)

  let exited = false
  const exitedPromise = new Promise<void>((resolve) => {
    const done = () => {
      exited = true
      liveChildren.delete(child)
      resolve()
    }
    child.once('exit', done)
    // ENOENT and friends: 'error' fires and 'exit' may not.
    child.once('error', (error) => {
      collect(String(error))
      done()
    })
  })
  const running: Running = {
    child,
    exited: exitedPromise,
    hasExited: () => exited,
    output: () => output,
  }

  const deadline = performance.now() + timeoutMs
  while (!(await ping(port, 250))) {
    if (exited) {
      throw new RedisServerError(
        `redis-server on port ${port} exited before answering PING (code ${child.exitCode}):\n${output}`
      )
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL')
      await exitedPromise
      throw new RedisServerError(
        `redis-server on port ${port} did not answer PING in ${timeoutMs} ms:\n${output}`
      )
    }
    await delay(20)
  }
  return running
}

/** One RESP PING over a raw socket: true on '+PONG' ('-LOADING' while an AOF loads is false). */
function ping(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let reply = ''
    const finish = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => finish(false))
    socket.once('error', () => finish(false))
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'))
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      reply += chunk
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'))
    })
  })
}
