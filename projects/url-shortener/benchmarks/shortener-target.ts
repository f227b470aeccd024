import { fileURLToPath } from 'node:url'
import { spawnTarget } from '@kit/bench'
import type { BenchTarget, StartedTarget } from '@kit/bench'
import { tempSqliteFile } from '@kit/testing'
import Database from 'better-sqlite3'

/** The management key every benchmarked instance runs with (stats and /metrics need it). */
export const BENCH_API_KEY = 'bench-api-key-not-a-secret'

const packageDir = fileURLToPath(new URL('..', import.meta.url))

/** What one started instance left behind for the checks that run after the benchmark. */
export type ShortenerRun = {
  target: string
  url: string
  /** The instance's SQLite file: still readable after it stopped (and flushed its clicks). */
  dbFile: string
  /** Results of `beforeStop`, taken while the instance still served. */
  observed: Record<string, unknown>
}

export type ShortenerTargetOptions = {
  name: string
  /** The compiled entry, relative to the package (default dist/main.js; another build to compare). */
  entry?: string
  /** Added to the benchmark's environment (TRACK_CLICKS, CODE_STRATEGY, REDIS_URL...). */
  env?: Record<string, string>
  /** Reads what only a live instance can tell (e.g. /metrics) just before it is stopped. */
  beforeStop?: (started: StartedTarget, run: ShortenerRun) => Promise<void>
}

const runs = new Map<string, ShortenerRun>()

/** The run of a started shortener, or undefined for another target (the bare baseline). */
export function shortenerRunOf(started: StartedTarget): ShortenerRun | undefined {
  return runs.get(started.url)
}

/**
 * The COMPILED service (`dist/main.js`, what production runs) as a benchmark target, in its own
 * process with a fresh SQLite file. The creation rate limit is off: the load comes from one
 * client address, and the limit would answer 429 to most creates (that path is tested, not
 * benchmarked). Everything else runs at its production defaults: secure headers, request id,
 * metrics, validation, click tracking unless TRACK_CLICKS=false.
 */
export function shortenerTarget({
  name,
  entry = 'dist/main.js',
  env = {},
  beforeStop,
}: ShortenerTargetOptions): BenchTarget & {
  /** One entry per start(), in order. */
  runs: ShortenerRun[]
  /** Removes the SQLite files once the checks have read them. */
  cleanup(): void
} {
  const started: ShortenerRun[] = []
  const files: Array<{ cleanup(): void }> = []
  return {
    name,
    kind: 'subject',
    runs: started,
    cleanup() {
      for (const file of files.splice(0)) file.cleanup()
    },
    async start() {
      const db = tempSqliteFile('url-shortener-bench')
      files.push(db)
      const target = await spawnTarget({
        name,
        kind: 'subject',
        entry,
        cwd: packageDir,
        env: {
          DB_FILE: db.path,
          API_KEY: BENCH_API_KEY,
          CREATE_RATE_LIMIT: '0',
          ...env,
        },
      }).start()
      const run: ShortenerRun = { target: name, url: target.url, dbFile: db.path, observed: {} }
      started.push(run)
      runs.set(target.url, run)
      return {
        ...target,
        async stop() {
          try {
            await beforeStop?.(target, run)
          } finally {
            await target.stop()
            // The port may be handed to another target later (the baseline of the next scenario).
            runs.delete(target.url)
          }
        },
      }
    },
  }
}

/** Opens a stopped instance's SQLite file read-only for `read`, and closes it. */
export function readDatabase<T>(dbFile: string, read: (db: Database.Database) => T): T {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true })
  try {
    return read(db)
  } finally {
    db.close()
  }
}

/** GET with the bench's API key; throws unless 200. */
export async function getManaged(url: string): Promise<Response> {
  const res = await fetch(url, { headers: { 'X-API-Key': BENCH_API_KEY } })
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`)
  return res
}

/** One sample's value from the Prometheus text format, or undefined when it is absent. */
export function metricValue(exposition: string, name: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}
