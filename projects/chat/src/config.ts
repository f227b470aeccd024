import { parseEnv } from '@kit/config'
import { z } from 'zod'

const csv = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
)
const positive = z.coerce.number().int().positive()

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3003),
  // Loopback by default: a dev run must not listen on every interface (Docker sets 0.0.0.0).
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The messages and rooms (embedded mode); with Redis, the archive of history past the streams. */
  DB_FILE: z.string().min(1).default('./data/chat.db'),
  /** Set: rooms, history, presence and fan-out shared through this Redis. Unset: one process. */
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })
    .optional(),
  /** Comma-separated nodes of a Redis Cluster (seeds); fan-out uses sharded pub/sub. */
  REDIS_CLUSTER_NODES: csv
    .pipe(z.array(z.url({ protocol: /^rediss?$/, error: 'must be redis:// URLs' })).min(1))
    .optional(),
  KEY_PREFIX: z.string().min(1).max(64).default('chat:'),
  /** Signs the tokens; every instance needs the same one. Unset (one process): a random one per start. */
  TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  TOKEN_TTL_SECONDS: positive.max(30 * 24 * 3600).default(3600),
  /** Origins allowed to open a WebSocket; default the page's own (http://localhost:PORT, http://127.0.0.1:PORT). */
  ALLOWED_ORIGINS: csv.optional(),
  /** Handshakes without Origin come from programs, not browsers; they still need a token. */
  ALLOW_MISSING_ORIGIN: z.stringbool().default(true),
  MAX_CONNECTIONS_PER_USER: positive.max(10_000).default(5),
  /** Largest frame a client may send; a bigger one closes the connection with 1009. */
  MAX_PAYLOAD_BYTES: positive.max(16 * 1024 * 1024).default(64 * 1024),
  /** Frames one connection may send per RATE_LIMIT_WINDOW_MS (OWASP: 100 a minute to start). */
  RATE_LIMIT_MESSAGES: positive.default(100),
  RATE_LIMIT_WINDOW_MS: positive.default(60_000),
  HEARTBEAT_INTERVAL_MS: positive.min(100).default(30_000),
  /** Bytes queued for one socket before the slow-consumer policy applies. */
  HIGH_WATER_MARK_BYTES: positive.default(1024 * 1024),
  SLOW_CONSUMER_POLICY: z.enum(['drop', 'disconnect']).default('drop'),
  TYPING_THROTTLE_MS: positive.default(2000),
  PRESENCE_TTL_MS: positive.min(300).default(30_000),
  /** Redis mode: the newest messages each room's stream keeps, and for how long. */
  HISTORY_MAX_LENGTH: positive.default(10_000),
  HISTORY_MAX_AGE_SECONDS: positive.default(7 * 24 * 3600),
  /** Redis mode: how long a client message id is remembered to drop retries. */
  DEDUPE_TTL_SECONDS: positive.default(24 * 3600),
  /** Redis mode: how often each room is checked against the log for messages the bus lost. */
  RESYNC_INTERVAL_MS: positive.min(100).default(5000),
  /** Keep serving (readiness 503) this long after SIGTERM before closing sockets with 1001. */
  DRAIN_DELAY_MS: z.coerce.number().int().min(0).default(0),
})

export type Config = z.infer<typeof schema> & { ALLOWED_ORIGINS: string[] }

/**
 * The environment, parsed once at start: every bad key at once in a ConfigError. Defaults give
 * the embedded mode (SQLite file, one process); REDIS_URL or REDIS_CLUSTER_NODES scale it out.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env)
 * ```
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const config = parseEnv(schema, env, {
    check(present, issues) {
      if (present.REDIS_URL !== undefined && present.REDIS_CLUSTER_NODES !== undefined) {
        issues.push({
          key: 'REDIS_CLUSTER_NODES',
          message: 'set REDIS_URL or REDIS_CLUSTER_NODES, not both',
        })
      }
      const shared = present.REDIS_URL !== undefined || present.REDIS_CLUSTER_NODES !== undefined
      if (shared && present.TOKEN_SECRET === undefined) {
        issues.push({
          key: 'TOKEN_SECRET',
          message: 'required with Redis: every instance must accept the tokens the others issue',
        })
      }
    },
  })
  const port = config.PORT
  return {
    ...config,
    ALLOWED_ORIGINS: config.ALLOWED_ORIGINS ?? [
      `http://localhost:${port}`,
      `http://127.0.0.1:${port}`,
    ],
  }
}
