import { parseEnv } from '@kit/config'
import { z } from 'zod'
import { CODE_STRATEGIES } from './codes/code-strategy.ts'

/**
 * Hosts of other shorteners, refused as targets by default: a short link to a short link hides
 * the final destination from the deny list and the preview page (Dub blocks nested shorteners).
 */
export const DEFAULT_DENY_HOSTS = [
  'bit.ly',
  'buff.ly',
  'cutt.ly',
  'goo.gl',
  'is.gd',
  'kutt.it',
  'ow.ly',
  'rebrand.ly',
  'shorturl.at',
  't.co',
  'tinyurl.com',
]

const REDIRECT_STATUSES = [301, 302, 307, 308] as const
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const csvList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '')
)

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DB_FILE: z.string().min(1).default('./data/url-shortener.db'),
  /** Set: Redis read-through cache and a shared creation rate limit. Unset: all in process. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** The origin short links are printed with; its host is refused as a target (no loops). */
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Protects the management API. Unset: read from API_KEY_FILE, generated there if absent. */
  API_KEY: z.string().min(16).optional(),
  /**
   * Where the generated key lives when API_KEY is unset (mode 0600, created once, read on every
   * later start). Default: beside DB_FILE, `<name>.api-key`.
   */
  API_KEY_FILE: z.string().min(1).optional(),
  ANONYMOUS_CREATE: z.stringbool().default(true),
  /** Anonymous creates per client IP per minute; 0 turns the limit off. */
  CREATE_RATE_LIMIT: z.coerce.number().int().min(0).default(60),
  REDIRECT_STATUS: z.coerce
    .number()
    .pipe(z.union(REDIRECT_STATUSES.map((status) => z.literal(status))))
    .default(302),
  /** Seconds browsers and CDNs may keep a 301/308 (never applied to 302/307). */
  REDIRECT_CACHE_MAX_AGE: z.coerce.number().int().min(0).default(300),
  CODE_STRATEGY: z.enum(CODE_STRATEGIES).default('random'),
  CODE_LENGTH: z.coerce.number().int().min(7).max(32).default(9),
  /** Key of the snowflake-scrambled permutation; the same on every instance. */
  CODE_SECRET: z.string().min(16).optional(),
  WORKER_ID: z.coerce.number().int().min(0).max(1023).default(0),
  /** Entries of the in-process LRU (embedded mode). */
  CACHE_SIZE: z.coerce.number().int().min(1).default(10_000),
  /** Lifetime of a Redis cache entry: gives the memory of links nobody follows back. */
  CACHE_TTL_SECONDS: z.coerce.number().int().min(1).default(3600),
  /** Most-clicked links loaded into the cache at start. */
  WARM_UP_LINKS: z.coerce.number().int().min(0).default(1000),
  TRACK_CLICKS: z.stringbool().default(true),
  /** Largest CSV import body; a 100,000-link export with 200-character URLs is about 25 MB. */
  IMPORT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(32 * 1024 * 1024),
  DENY_HOSTS: csvList.default(DEFAULT_DENY_HOSTS),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /**
   * The level of the access log (one line per request: method, path, status, ms, request id);
   * `off` writes none. Lines below LOG_LEVEL are not written either. 5xx are always logged as
   * errors.
   */
  ACCESS_LOG: z.enum(['off', 'debug', 'info']).default('off'),
  /**
   * After SIGTERM, how long to keep serving (every response with `Connection: close`, /readyz
   * 503) before the listener closes: the load balancer's time to stop sending here.
   */
  DRAIN_DELAY_MS: z.coerce.number().int().min(0).max(600_000).default(1000),
  /** Then, how long requests in flight may take before their connections are cut. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
})

export type Config = Omit<z.infer<typeof schema>, 'PUBLIC_BASE_URL'> & { PUBLIC_BASE_URL: string }

/**
 * Parses the environment once, at start, through `@kit/config`'s `parseEnv`: empty variables
 * count as unset (`REDIS_URL=` keeps the embedded mode), defaults give the embedded mode
 * (SQLite file, in-process cache, no Redis), and one ConfigError names every bad key, the
 * cross-key checks included.
 *
 * @throws {ConfigError} naming every invalid key, not just the first.
 * @example
 * ```ts
 * const config = loadConfig(process.env)
 * ```
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const config = parseEnv(schema, env, {
    check(present, issues) {
      if (present.CODE_STRATEGY === 'snowflake-scrambled' && present.CODE_SECRET === undefined) {
        issues.push({
          key: 'CODE_SECRET',
          message: 'required when CODE_STRATEGY is snowflake-scrambled',
        })
      }
    },
  })
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST
  return {
    ...config,
    PUBLIC_BASE_URL: (config.PUBLIC_BASE_URL ?? `http://${host}:${config.PORT}`).replace(
      /\/+$/,
      ''
    ),
  }
}
