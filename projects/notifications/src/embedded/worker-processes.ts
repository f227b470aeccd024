import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'

/**
 * Starts `count` worker processes (`worker-main`) with `env`, restarts one that dies, and stops
 * them all with SIGTERM (BullMQ's graceful close: running deliveries finish). From `src/` (tsx)
 * the TypeScript entry runs through tsx's loader; from `dist/` the bundled one.
 */
export function startWorkerProcesses({
  count,
  env,
  logger,
}: {
  count: number
  env: NodeJS.ProcessEnv
  logger: Logger
}) {
  const compiled = import.meta.url.endsWith('.js')
  const entry = fileURLToPath(
    new URL(compiled ? './worker-main.js' : '../worker-main.ts', import.meta.url)
  )
  const execArgv = compiled ? ['--enable-source-maps'] : ['--import', 'tsx']
  const children = new Set<ChildProcess>()
  let stopping = false

  function start(index: number) {
    const child = fork(entry, [], {
      env: { ...process.env, ...env, WORKER_INDEX: String(index) },
      execArgv,
      stdio: 'inherit',
    })
    children.add(child)
    child.once('exit', (code, signal) => {
      children.delete(child)
      if (stopping) return
      logger.error({ code, signal, index }, 'worker process died: starting another')
      setTimeout(() => start(index), 1000).unref()
    })
  }
  for (let i = 0; i < count; i++) start(i)

  return {
    get pids() {
      return [...children].map((c) => c.pid)
    },
    async stop() {
      stopping = true
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise<void>((done) => {
              child.once('exit', () => done())
              child.kill('SIGTERM')
            })
        )
      )
    },
  }
}
