const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

/**
 * A retry schedule: the delay before each attempt after the first, in milliseconds. Its length
 * + 1 is the number of attempts.
 */
export type RetryTable = readonly number[]

/**
 * The Standard Webhooks spec's example schedule: attempts immediately, then after 5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h: 10 attempts over 75 h 35 min 05 s.
 */
export const STANDARD_WEBHOOKS_SCHEDULE: RetryTable = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  14 * HOUR,
  20 * HOUR,
  24 * HOUR,
]

/** Svix's production schedule (docs.svix.com/retries): 8 attempts over about 27.6 h. */
export const SVIX_SCHEDULE: RetryTable = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
]

/** The named schedules a configuration may pick. */
export const RETRY_SCHEDULES = {
  'standard-webhooks': STANDARD_WEBHOOKS_SCHEDULE,
  svix: SVIX_SCHEDULE,
} as const satisfies Record<string, RetryTable>

export type RetrySchedule = {
  readonly table: RetryTable
  /** Every attempt, the first included. */
  readonly attempts: number
  /**
   * Milliseconds to wait before attempt `attempt` (2 for the first retry), or null when the
   * schedule is spent. The table's delay ± `jitter`, never less than a `Retry-After` the
   * receiver asked for.
   */
  delayBefore(attempt: number, options?: { retryAfterMs?: number }): number | null
}

/**
 * A retry schedule from a table, with jitter so that many messages failing at once do not all
 * come back at the same instant (the spec: "exponential backoff and jitter").
 *
 * @example
 * ```ts
 * const schedule = createRetrySchedule(STANDARD_WEBHOOKS_SCHEDULE, { jitter: 0.1 })
 * schedule.delayBefore(2) // 4500..5500
 * schedule.delayBefore(3, { retryAfterMs: 600_000 }) // 600000: the receiver asked for more
 * ```
 */
export function createRetrySchedule(
  table: RetryTable,
  { jitter = 0.1, random = Math.random }: { jitter?: number; random?: () => number } = {}
): RetrySchedule {
  if (jitter < 0 || jitter >= 1) throw new RangeError('jitter is a share in [0, 1)')
  if (table.some((delay) => !Number.isFinite(delay) || delay < 0)) {
    throw new RangeError('every delay is a finite number of milliseconds >= 0')
  }
  return {
    table,
    attempts: table.length + 1,
    delayBefore(attempt, { retryAfterMs = 0 } = {}) {
      const base = table[attempt - 2]
      if (base === undefined) return null
      const jittered = Math.round(base * (1 + jitter * (2 * random() - 1)))
      return Math.max(jittered, retryAfterMs)
    },
  }
}

/**
 * A `Retry-After` value in milliseconds from `now`: delay-seconds or an HTTP-date (RFC 9110
 * § 10.2.3); undefined when absent or unreadable.
 *
 * @example
 * ```ts
 * parseRetryAfter('7') // 7000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')) // 60000
 * ```
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now()
): number | undefined {
  if (value === null || value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * SECOND
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** What an attempt's answer means for the message and its endpoint (spec "Delivery"). */
export type AttemptOutcome =
  | { kind: 'delivered' }
  /** Try again later; `retryAfterMs` when the receiver said when. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** 410 Gone: the endpoint is gone; disable it, stop retrying. */
  | { kind: 'disable'; reason: string }
  /** `webhook-delivery: abort-message` (Svix): the receiver refuses this message for good. */
  | { kind: 'abort'; reason: string }

/**
 * Classifies one HTTP answer: only 2xx delivers; 3xx is a failure (redirects are never followed);
 * 410 disables the endpoint; everything else, 4xx included, is retried on the schedule, with
 * `Retry-After` honoured (429, 503…).
 *
 * @example
 * ```ts
 * classifyResponse(503, new Headers({ 'retry-after': '7' })) // { kind: 'retry', reason: 'http_503', retryAfterMs: 7000 }
 * ```
 */
export function classifyResponse(
  status: number,
  headers: Headers,
  now = Date.now()
): AttemptOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered' }
  if (status === 410) return { kind: 'disable', reason: 'http_410' }
  if (headers.get('webhook-delivery')?.trim().toLowerCase() === 'abort-message') {
    return { kind: 'abort', reason: `http_${status}_abort_message` }
  }
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'), now)
  return {
    kind: 'retry',
    reason: status >= 300 && status < 400 ? `redirect_${status}` : `http_${status}`,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  }
}
