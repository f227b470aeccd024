import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { freePort, spawnTarget, type WsStartedTarget, type WsTarget } from '@kit/bench'
import { WebSocket } from 'ws'

const here = (path: string) => new URL(path, import.meta.url)

/** The secret every chat instance of a run shares (tokens issued by one work on the other). */
const TOKEN_SECRET = randomBytes(32).toString('base64url')

/** A redis-server of the target's own (its CPU is counted with the target's). */
async function startRedis(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort()
  const child = spawn(
    process.env.REDIS_SERVER_BIN || 'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' }
  )
  const exited = new Promise((resolve) => child.once('exit', resolve))
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' }, () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (up) break
    if (i > 200) throw new Error(`redis-server on ${port} did not start`)
    await delay(25)
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}

type Flavour = 'chat' | 'raw-ws' | 'socket-io'

const flavours: Record<
  Flavour,
  { entry: string; adapter: string; env: (instance: number) => Record<string, string> }
> = {
  chat: {
    entry: 'dist/main.js',
    adapter: here('./protocols/chat.mjs').href,
    env: () => ({
      LOG_LEVEL: 'warn',
      DB_FILE: join(tmpdir(), `chat-bench-${randomBytes(6).toString('hex')}.db`),
      TOKEN_SECRET,
      // The load comes from few users with many connections, faster than a person types.
      MAX_CONNECTIONS_PER_USER: '10000',
      RATE_LIMIT_MESSAGES: '1000000000',
    }),
  },
  'raw-ws': {
    entry: here('./raw-ws-broadcast.ts').pathname,
    adapter: here('./protocols/raw-ws.mjs').href,
    env: () => ({}),
  },
  'socket-io': {
    entry: here('./socket-io-server.ts').pathname,
    adapter: here('./protocols/socket-io.mjs').href,
    env: () => ({}),
  },
}

/**
 * A full GC in a Node process started with --inspect, through the DevTools protocol
 * (HeapProfiler.collectGarbage): no hook in the measured code.
 */
async function collectGarbage(inspectPort: number): Promise<void> {
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string
  }[]
  const ws = new WebSocket(target!.webSocketDebuggerUrl)
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }))
  await new Promise((resolve) => ws.once('message', resolve))
  ws.close()
}

/**
 * One measured server: `instances` processes of a flavour (the chat's built dist/main.js, the
 * raw ws broadcast or the Socket.IO server), sharing a redis-server of their own when more than
 * one. Its CPU and memory are those of every process, Redis included.
 */
export function wsTarget({
  name,
  kind,
  flavour,
  instances = 1,
  users = 100,
  inspect = false,
}: {
  name: string
  kind: WsTarget['kind']
  flavour: Flavour
  instances?: 1 | 2
  users?: number
  /** Start with the inspector on, so a memory reading can follow a full GC. */
  inspect?: boolean
}): WsTarget {
  const { entry, adapter, env } = flavours[flavour]
  return {
    name,
    kind,
    adapter,
    async start(): Promise<WsStartedTarget> {
      const redis = instances > 1 ? await startRedis() : undefined
      const started: Awaited<ReturnType<ReturnType<typeof spawnTarget>['start']>>[] = []
      const inspectPorts: number[] = []
      for (let i = 0; i < instances; i++) {
        const inspectPort = inspect ? await freePort() : undefined
        if (inspectPort) inspectPorts.push(inspectPort)
        started.push(
          await spawnTarget({
            name: `${name}#${i + 1}`,
            kind,
            entry,
            env: {
              ...env(i),
              ...(redis && { REDIS_URL: redis.url }),
              ...(inspectPort && { NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` }),
            },
          }).start()
        )
      }
      return {
        urls: started.map((s) => s.url.replace(/^http/, 'ws')),
        pids: [...started.map((s) => s.pid), ...(redis ? [redis.pid] : [])],
        ...(inspect && {
          async collectGarbage() {
            await Promise.all(inspectPorts.map(collectGarbage))
          },
        }),
        async stop() {
          await Promise.all(started.map((s) => s.stop()))
          await redis?.stop()
        },
      }
    },
    async prepare(target) {
      if (flavour !== 'chat') return { room: 'r' }
      const http = target.urls[0]!.replace(/^ws/, 'http')
      const tokens = await Promise.all(
        Array.from({ length: users }, async (_, i) => {
          const res = await fetch(`${http}/api/tokens`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ user: `bench${i}` }),
          })
          return ((await res.json()) as { token: string }).token
        })
      )
      const res = await fetch(`${http}/api/rooms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` },
        body: JSON.stringify({ name: 'bench' }),
      })
      const { id } = (await res.json()) as { id: string }
      return { room: id, tokens }
    },
  }
}
