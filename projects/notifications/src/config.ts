/**
 * The service's configuration, read once by `main.ts` (the API) and by `worker-main.ts` (the
 * delivery workers) from the environment. Every bad key is reported at once. The defaults give
 * the embedded mode: a SQLite file, a redis-server child, local providers on loopback sockets
 * and one worker process, all started by `main.ts`.
 *
 * @example
 * const config = loadConfig(process.env) // throws ConfigError naming every bad key
 */
import { parseEnv, type ConfigIssue } from '@kit/config'
import { z } from 'zod'
import { CHANNELS, type Channel } from './channels/channel.ts'
import { RETRY_SCHEDULES, type RetryTable } from './standard-webhooks/index.ts'

const DURATION = /^(\d+)(ms|s|m|h|d)$/
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** '5s' → 5000; '30m' → 1800000. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim())
  return match ? Number(match[1]) * UNIT_MS[match[2]!]! : undefined
}

const csv = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
)

const urlList = (protocol: RegExp) =>
  csv.pipe(
    z.array(z.url({ protocol, error: `each entry must be a ${protocol.source} URL` })).min(1)
  )

/** `email=20,sms=10`: a number per channel, unlisted channels keep their default. */
const perChannel = (defaults: Record<Channel, number>) =>
  csv.transform((entries, ctx) => {
    const result = { ...defaults }
    for (const entry of entries) {
      const [channel, value] = entry.split('=')
      const number = Number(value)
      if (!CHANNELS.includes(channel as Channel) || !Number.isInteger(number) || number < 1) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" is not <channel>=<positive integer>` })
        return z.NEVER
      }
      result[channel as Channel] = number
    }
    return result
  })

/** `sms=50/1s,email=200/1m`: at most N deliveries per window, per channel (BullMQ limiter). */
const throttles = csv.transform((entries, ctx) => {
  const result: Partial<Record<Channel, { max: number; duration: number }>> = {}
  for (const entry of entries) {
    const match = /^([a-z_]+)=(\d+)\/(\w+)$/.exec(entry)
    const duration = match ? parseDuration(match[3]!) : undefined
    if (!match || !CHANNELS.includes(match[1] as Channel) || !duration || Number(match[2]) < 1) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not <channel>=<max>/<duration>` })
      return z.NEVER
    }
    result[match[1] as Channel] = { max: Number(match[2]), duration }
  }
  return result
})

/** A named schedule (`standard-webhooks`, `svix`) or a list of delays (`5s,5m,30m,2h`). */
const retryTable = z.string().transform((value, ctx): RetryTable => {
  const named = RETRY_SCHEDULES[value.trim() as keyof typeof RETRY_SCHEDULES]
  if (named) return named
  const delays = value.split(',').map((part) => parseDuration(part))
  if (delays.length === 0 || delays.some((delay) => delay === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: `use ${Object.keys(RETRY_SCHEDULES).join(' or ')}, or delays such as 5s,5m,30m`,
    })
    return z.NEVER
  }
  return delays as number[]
})

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3004),
  // Loopback by default: a dev run must not listen on every interface (Docker sets 0.0.0.0).
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DB_FILE: z.string().min(1).default('./data/notifications.db'),
  /** Unset: main.ts starts a redis-server child (AOF, noeviction) in DATA_DIR/redis. */
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })
    .optional(),
  /** Where the embedded redis-server keeps its AOF. */
  DATA_DIR: z.string().min(1).default('./data'),
  /** Worker processes main.ts starts; 0 when you run `worker-main` yourself. */
  WORKERS: z.coerce.number().int().min(0).max(32).default(1),
  /** Prefix of every Redis key (BullMQ queues, the breaker board, the inbox channel). */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .default('notifications'),
  /** SMTP relays, primary first. Unset: a local SMTP server (smtp-server) started by main.ts. */
  SMTP_URLS: urlList(/^smtps?$/).optional(),
  EMAIL_FROM: z.string().min(3).default('Kit notifications <notifications@localhost>'),
  /** SMS gateways (POST /messages), primary first. Unset: two local providers. */
  SMS_PROVIDER_URLS: urlList(/^https?$/).optional(),
  /** Push services (POST /push), primary first. Unset: two local providers. */
  PUSH_PROVIDER_URLS: urlList(/^https?$/).optional(),
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** A provider's breaker opens after this many failures in a row… */
  BREAKER_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
  /** …and lets one probe through after this long. */
  BREAKER_HALF_OPEN_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
  /** Attempts of an email, SMS, push or in-app delivery before the dead-letter queue. */
  CHANNEL_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  /** First retry delay of those channels; doubled per attempt, with jitter, capped at 1 h. */
  RETRY_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(1000),
  /** Deliveries one worker process runs at once, per channel: the bulkheads. */
  CHANNEL_CONCURRENCY: perChannel({
    email: 20,
    sms: 20,
    push: 20,
    webhook: 20,
    in_app: 50,
  }).optional(),
  /** Most deliveries per window, per channel, across every worker (BullMQ's limiter). */
  CHANNEL_THROTTLE: throttles.optional(),
  WEBHOOK_RETRY_SCHEDULE: retryTable.default(RETRY_SCHEDULES['standard-webhooks']),
  WEBHOOK_RETRY_JITTER: z.coerce.number().min(0).lt(1).default(0.1),
  /** Spec: 15-30 s. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(15_000),
  /** An endpoint failing without a success for this long is disabled (Svix: 5 days). */
  WEBHOOK_DISABLE_AFTER_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(5 * 86_400_000),
  /** Ranges a webhook may reach although not public (e.g. 127.0.0.1/32 in development). */
  WEBHOOK_ALLOWED_CIDRS: csv.default([]),
  /** How long an Idempotency-Key is remembered: at least 24 h. */
  IDEMPOTENCY_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(24)
    .max(24 * 30)
    .default(24),
  MAX_RECIPIENTS: z.coerce.number().int().min(1).max(10_000).default(1000),
  OUTBOX_BATCH: z.coerce.number().int().min(1).max(5000).default(200),
  OUTBOX_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** BullMQ's job lock; a killed worker's jobs run again after it (and the stalled check). */
  WORKER_LOCK_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
})

type Parsed = z.infer<typeof schema>
export type Config = Omit<Parsed, 'CHANNEL_CONCURRENCY' | 'CHANNEL_THROTTLE'> & {
  CHANNEL_CONCURRENCY: Record<Channel, number>
  CHANNEL_THROTTLE: Partial<Record<Channel, { max: number; duration: number }>>
}

function checkCidrs(present: Record<string, string>, issues: ConfigIssue[]) {
  for (const cidr of (present.WEBHOOK_ALLOWED_CIDRS ?? '').split(',').filter((c) => c.trim())) {
    if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(cidr.trim())) {
      issues.push({ key: 'WEBHOOK_ALLOWED_CIDRS', message: `"${cidr}" is not a CIDR (10.0.0.0/8)` })
    }
  }
}

/**
 * Parses and checks the environment. Empty variables count as unset.
 *
 * @throws {ConfigError} naming every bad key.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = parseEnv(schema, env, { check: checkCidrs })
  return {
    ...parsed,
    CHANNEL_CONCURRENCY: parsed.CHANNEL_CONCURRENCY ?? {
      email: 20,
      sms: 20,
      push: 20,
      webhook: 20,
      in_app: 50,
    },
    CHANNEL_THROTTLE: parsed.CHANNEL_THROTTLE ?? {},
  }
}
