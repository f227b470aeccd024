/**
 * The environment of limiter-server.ts, shared with run.ts so a target's env is type-checked
 * where it is written and validated where it is read.
 */
import { z } from 'zod'
import { ALGORITHMS } from '../src/limiter/index.ts'

/** The policy name every variant reports in its RateLimit fields. */
export const POLICY_NAME = 'bench'

const flag = z.enum(['true', 'false']).transform((value) => value === 'true')

export const serverEnvSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65_535),
    VARIANT: z.enum(['kit', 'rlf', 'floor', 'bare']),
    BACKEND: z.enum(['memory', 'redis']).default('memory'),
    ALGORITHM: z.enum(ALGORITHMS).default('fixed-window'),
    LIMIT: z.coerce.number().int().positive().default(1_000_000_000),
    // Whole seconds: rate-limiter-flexible's `duration` and the draft's `w` are in seconds.
    WINDOW_MS: z.coerce
      .number()
      .int()
      .min(1000)
      .refine((ms) => ms % 1000 === 0, 'must be a whole number of seconds')
      .default(60_000),
    REDIS_URL: z.url({ protocol: /^redis$/ }).optional(),
    // This target's Redis keys, so targets sharing one redis-server never share a key.
    KEY_PREFIX: z
      .string()
      .regex(/^[\w:.-]+$/)
      .default('bench:'),
    // kit: the resilient limiter's block cache; rlf: `inMemoryBlockOnConsumed: LIMIT`.
    BLOCK_CACHE: flag.default(true),
    // kit on Redis: createCoalescingLimiter in front of the script (as the service runs it).
    COALESCE: flag.default(true),
    AUTO_PIPELINING: flag.default(true),
    // Whom a request counts against: its client IP (every benchmark request comes from one), or
    // the X-Client-Id header the generator varies (many clients, one request each at a time).
    CLIENT_KEY: z.enum(['ip', 'x-client-id']).default('ip'),
  })
  .refine((env) => env.BACKEND === 'memory' || env.REDIS_URL !== undefined, {
    path: ['REDIS_URL'],
    message: 'required when BACKEND=redis',
  })

/** What run.ts passes (strings, as an environment holds them; PORT comes from spawnTarget). */
export type ServerEnv = {
  [K in Exclude<keyof z.input<typeof serverEnvSchema>, 'PORT'>]?: string
} & { VARIANT: 'kit' | 'rlf' | 'floor' | 'bare' }

export type ParsedServerEnv = z.output<typeof serverEnvSchema>
