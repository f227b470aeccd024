import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { ORIGIN, tempDbFile } from './helpers.ts'

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

export type ChatProcess = {
  url: string
  wsUrl: string
  pid: number
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal?: NodeJS.Signals): void
  /** Resident set size from /proc/<pid>/status. */
  rssBytes(): Promise<number>
  output(): string
}

/**
 * `src/main.ts` as its own process (tsx), as `pnpm chat` runs it: what a kill -9, a SIGTERM or
 * a memory measurement needs. Resolves once it logged `listening on`.
 */
export async function startChatProcess(env: Record<string, string> = {}): Promise<ChatProcess> {
  // The test run's REDIS_URL (set by the global setup) is not this instance's unless passed.
  const { REDIS_URL: _testRedis, ...inherited } = process.env
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: {
      ...inherited,
      PORT: '0',
      LOG_LEVEL: 'info',
      ALLOWED_ORIGINS: ORIGIN,
      DB_FILE: tempDbFile(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  let output = ''
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child)
      resolve({ code, signal })
    })
  )
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += String(chunk)
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output)
      if (match) resolve(match[1]!)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', (chunk: Buffer) => (output += String(chunk)))
    void exited.then(() =>
      setTimeout(() => reject(new Error(`chat exited before listening:\n${output}`)), 100)
    )
    setTimeout(() => reject(new Error(`chat did not listen in 30 s:\n${output}`)), 30_000).unref()
  })
  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/ws`,
    pid: child.pid!,
    exited,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
    async rssBytes() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8')
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024
    },
    output: () => output,
  }
}
