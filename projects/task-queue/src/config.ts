/**
 * The task queue's configuration: one zod schema over the environment, parsed once at start by
 * main.ts and worker-main.ts (`loadConfig`), every bad key reported at once.
 *
 * The defaults give the embedded mode: no REDIS_URL starts a private redis-server (AOF on,
 * noeviction) under DATA_DIR and one worker process beside the API.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env) // throws ConfigError naming every bad key
 * ```
 */
import { parseEnv } from '@kit/config'
import { z } from 'zod'

const positiveInt = z.coerce.number().int().positive()
const flag = z.stringbool()

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3002),
  // Loopback by default: a dev run must not listen on every interface (Docker sets 0.0.0.0).
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * One URL, or a Redis Cluster's seed nodes comma-separated. Unset: a private redis-server is
   * started under DATA_DIR (embedded mode).
   */
  REDIS_URL: z
    .string()
    .refine(
      (value) =>
        value
          .split(',')
          .every((url) => z.url({ protocol: /^rediss?$/ }).safeParse(url.trim()).success),
      'must be a redis:// or rediss:// URL, or several comma-separated (a cluster)'
    )
    .optional(),
  /** The embedded redis-server's files (AOF); unused with REDIS_URL. */
  DATA_DIR: z.string().min(1).default('./data'),
  /** The BullMQ queue; its keys are `{task-queue:<name>}:<name>:*` (one Cluster slot). */
  QUEUE_NAME: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9-]{0,62}$/,
      'must be 1-63 of a-z 0-9 -, starting with a letter or digit'
    )
    .default('jobs'),
  /** Worker processes the API starts and supervises; default 1 embedded, 0 with REDIS_URL. */
  WORKERS: z.coerce.number().int().min(0).max(64).optional(),
  /** Admin routes and the dashboard's write actions; unset: one is generated and printed. */
  ADMIN_KEY: z.string().min(16).optional(),

  WORKER_CONCURRENCY: positiveInt.max(1000).default(10),
  /** 'sandboxed': each job runs in a child process (a stuck or crashing job cannot stall the worker). */
  PROCESSOR_MODE: z.enum(['in-process', 'sandboxed']).default('in-process'),
  /** A worker's port for /metrics, /healthz and /readyz; unset: none. */
  WORKER_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  /** BullMQ's lock: a worker that stops renewing it for this long has its jobs run again. */
  LOCK_DURATION_MS: positiveInt.max(600_000).default(30_000),
  STALLED_INTERVAL_MS: positiveInt.max(600_000).default(30_000),
  MAX_STALLED_COUNT: z.coerce.number().int().min(0).max(100).default(2),
  /** The deadline of a job whose type and request give none. */
  DEFAULT_TIMEOUT_MS: positiveInt.max(24 * 3_600_000).default(60_000),

  /** Jobs of every worker together (BullMQ global concurrency); unset: no limit. */
  GLOBAL_CONCURRENCY: positiveInt.max(100_000).optional(),
  /** Jobs started per GLOBAL_RATE_LIMIT_DURATION_MS across every worker; unset: no limit. */
  GLOBAL_RATE_LIMIT: positiveInt.optional(),
  GLOBAL_RATE_LIMIT_DURATION_MS: positiveInt.default(1000),

  /** Completed jobs kept (count, and seconds); bounded so Redis memory is. */
  KEEP_COMPLETED: z.coerce.number().int().min(0).default(1000),
  KEEP_COMPLETED_SECONDS: positiveInt.default(24 * 3600),
  /** Failed jobs that do not go to the dead-letter queue (cancelled ones) kept; workers trim. */
  KEEP_FAILED: z.coerce.number().int().min(0).default(5000),
  DEAD_LETTER_MAX_AGE_DAYS: positiveInt.max(3650).default(30),
  DEAD_LETTER_MAX_COUNT: positiveInt.default(10_000),
  DEAD_LETTER_SWEEP_MS: positiveInt.default(30_000),
  /** How long an Idempotency-Key is remembered. */
  IDEMPOTENCY_TTL_SECONDS: positiveInt.default(24 * 3600),

  /** Jobs with a tenant go through per-tenant round robin; false: straight to the queue (FIFO). */
  FAIR_SCHEDULING: flag.default(true),
  /** Jobs the fair dispatcher keeps waiting in the queue; default 2 × WORKER_CONCURRENCY. */
  FAIR_WINDOW: positiveInt.max(100_000).optional(),

  /** Largest request body of one job, and of a bulk request. */
  MAX_JOB_BYTES: positiveInt.max(16 * 1024 * 1024).default(64 * 1024),
  MAX_BULK_BYTES: positiveInt.max(64 * 1024 * 1024).default(1024 * 1024),
  MAX_BULK_JOBS: positiveInt.max(10_000).default(1000),
  /** Concurrent single enqueues leave in one addBulk (see src/enqueue-batching). */
  BATCH_ENQUEUE: flag.default(true),
})

export type Env = z.output<typeof schema>

export type Config = Omit<Env, 'WORKERS' | 'FAIR_WINDOW'> & {
  WORKERS: number
  FAIR_WINDOW: number
  /** The BullMQ prefix of QUEUE_NAME: a hash tag, so each queue lives on one Cluster slot. */
  QUEUE_PREFIX: string
}

/** The BullMQ prefix of a queue: `{task-queue:<queue>}` (BullMQ's documented Cluster form). */
export function queuePrefix(queueName: string): string {
  return `{task-queue:${queueName}}`
}

/** The BullMQ prefix of a queue's dead-letter queue (`<queue>-dead`), its own slot. */
export function deadQueuePrefix(queueName: string): string {
  return queuePrefix(`${queueName}-dead`)
}

/**
 * Parses the environment. Empty variables count as unset.
 *
 * @throws {ConfigError} naming every invalid key.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = parseEnv(schema, env, {
    check(present, issues) {
      if (
        present.GLOBAL_RATE_LIMIT_DURATION_MS !== undefined &&
        present.GLOBAL_RATE_LIMIT === undefined
      ) {
        issues.push({
          key: 'GLOBAL_RATE_LIMIT',
          message: 'required when GLOBAL_RATE_LIMIT_DURATION_MS is set',
        })
      }
      const lock = Number(present.LOCK_DURATION_MS ?? 30_000)
      const stalled = Number(present.STALLED_INTERVAL_MS ?? 30_000)
      if (Number.isFinite(lock) && Number.isFinite(stalled) && stalled > 4 * lock) {
        issues.push({
          key: 'STALLED_INTERVAL_MS',
          message: 'at most 4 × LOCK_DURATION_MS, or a dead worker’s jobs wait long to run again',
        })
      }
    },
  })
  return {
    ...parsed,
    WORKERS: parsed.WORKERS ?? (parsed.REDIS_URL === undefined ? 1 : 0),
    FAIR_WINDOW: parsed.FAIR_WINDOW ?? 2 * parsed.WORKER_CONCURRENCY,
    QUEUE_PREFIX: queuePrefix(parsed.QUEUE_NAME),
  }
}
