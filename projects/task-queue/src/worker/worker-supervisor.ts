/**
 * The embedded mode's worker processes: the API starts `WORKERS` copies of worker-main as
 * children, restarts one that dies (after a second, so a crash loop cannot spin), and on
 * shutdown sends each SIGTERM and waits for it to finish its jobs.
 */
import { fork, type ChildProcess } from 'node:child_process'
import type { Logger } from 'pino'

export type WorkerSupervisor = { readonly pids: number[]; close(): Promise<void> }

export function superviseWorkers({
  count,
  entry,
  env,
  logger,
}: {
  count: number
  /** worker-main.js (or .ts under a TypeScript loader: children inherit the parent's flags). */
  entry: URL
  env: Record<string, string>
  logger: Logger
}): WorkerSupervisor {
  const children = new Set<ChildProcess>()
  let closing = false

  function start(index: number): void {
    const child = fork(entry, [], {
      env: { ...process.env, ...env, WORKERS: '0' },
      stdio: 'inherit',
    })
    children.add(child)
    child.once('exit', (code, signal) => {
      children.delete(child)
      if (closing) return
      logger.warn({ worker: index, code, signal }, 'worker process exited; restarting it in 1 s')
      setTimeout(() => !closing && start(index), 1000).unref()
    })
  }
  for (let i = 0; i < count; i++) start(i)

  return {
    get pids() {
      return [...children].flatMap((child) => (child.pid === undefined ? [] : [child.pid]))
    },
    async close() {
      closing = true
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done()
              child.once('exit', () => done())
              child.kill('SIGTERM')
            })
        )
      )
    },
  }
}
