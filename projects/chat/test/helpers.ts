import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, serveApp, type ServedApp } from '@kit/http'
import type { Logger } from 'pino'
import { loadConfig } from '../src/config.ts'
import { createChatService, type ChatService } from '../src/service.ts'

/** The Origin the test clients send; every test server allows it. */
export const ORIGIN = 'http://chat.test'

export type RunningChat = {
  url: string
  wsUrl: string
  chat: ChatService
  served: ServedApp
  dbFile: string
  /** 1001 to every socket, then the HTTP drain and the stores closed. */
  stop(): Promise<void>
}

const silent = createLogger({ level: 'silent' })
const files: string[] = []
process.once('exit', () => {
  for (const file of files)
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true })
})

/** A temp SQLite file path, removed when the test process exits. */
export function tempDbFile(): string {
  const file = join(tmpdir(), `chat-test-${randomUUID()}.db`)
  files.push(file)
  return file
}

/**
 * The real service in this process, on a free port, with its own SQLite file (and the given
 * env over the test defaults: LOG_LEVEL silent, ALLOWED_ORIGINS = ORIGIN).
 */
export async function startChat(
  env: Record<string, string> = {},
  { logger = silent }: { logger?: Logger } = {}
): Promise<RunningChat> {
  const dbFile = env.DB_FILE ?? tempDbFile()
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    ALLOWED_ORIGINS: ORIGIN,
    DB_FILE: dbFile,
    ...env,
  })
  const chat = await createChatService(config, { logger })
  await chat.ready()
  const served = await serveApp(chat.app, {
    port: config.PORT === 3003 && env.PORT === undefined ? 0 : config.PORT,
    hostname: '127.0.0.1',
    logger,
    health: chat.health,
    handleSignals: false,
    websocket: { server: chat.wss },
    onShutdown: () => chat.close(),
  })
  let stopped: Promise<void> | undefined
  return {
    url: served.url,
    wsUrl: `${served.url.replace(/^http/, 'ws')}/ws`,
    chat,
    served,
    dbFile,
    stop() {
      stopped ??= (async () => {
        await chat.drain()
        await served.shutdown()
      })()
      return stopped
    },
  }
}

/** POST /api/tokens. */
export async function tokenFor(url: string, user: string): Promise<string> {
  const res = await fetch(`${url}/api/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  })
  if (res.status !== 201) throw new Error(`token for ${user}: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { token: string }).token
}

/** A JSON request with a bearer token; answers status and parsed body. */
export async function api<T = unknown>(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : undefined) as T,
    headers: res.headers,
  }
}

/** A group room created by `token`'s user. */
export async function createRoom(url: string, token: string, name = 'room'): Promise<string> {
  const { status, body } = await api<{ id: string }>(url, token, 'POST', '/rooms', { name })
  if (status !== 201) throw new Error(`create room: ${status}`)
  return body.id
}

export const range = (from: number, to: number) =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)

/**
 * Heap and buffers still referenced, after full collections: what a test may call memory held.
 * Needs --expose-gc (vitest.config.ts). ArrayBuffers are freed by a sweep that runs after the
 * collection on another thread, so it collects three times with a pause between.
 */
export async function liveMemory(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run the tests with --expose-gc (vitest.config.ts execArgv)')
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const { heapUsed, external } = process.memoryUsage()
  return heapUsed + external
}
