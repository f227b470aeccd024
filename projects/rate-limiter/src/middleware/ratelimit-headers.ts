/**
 * Serializers for the RateLimit header fields of draft-ietf-httpapi-ratelimit-headers-11, the
 * legacy `X-RateLimit-*` trio and `Retry-After`.
 *
 * Both draft fields are Structured Field Lists (RFC 9651): every member is a String (the policy
 * name) followed by parameters, in canonical form: no space after `;`, `, ` between members.
 *
 * @example
 * serializeRateLimitPolicy([{ name: 'api', quota: 100, windowSeconds: 60 }])
 * // '"api";q=100;w=60'
 * serializeRateLimit([{ name: 'api', remaining: 42, resetSeconds: 17 }])
 * // '"api";r=42;t=17'
 */

/** Quota units registered by the draft (§ 5.2); `requests` is the default and is not sent. */
export type QuotaUnit = 'requests' | 'content-bytes' | 'concurrent-requests'

/** One member of `RateLimit-Policy`: a quota policy the server applies. */
export type QuotaPolicyItem = {
  /** The policy name, the member's String value. */
  name: string
  /** `q`: quota units allowed per window. */
  quota: number
  /** `w`: the window in whole seconds. Omitted when absent (the draft allows it). */
  windowSeconds?: number
  /** `qu`: omitted when `requests`, the draft's default. */
  quotaUnit?: QuotaUnit
  /** `pk`: partition key, sent as a Byte Sequence. Must not leak the client's identity. */
  partitionKey?: Uint8Array
}

/** One member of `RateLimit`: the client's current standing under one policy. */
export type ServiceLimitItem = {
  name: string
  /** `r`: available quota units. */
  remaining: number
  /** `t`: the effective window in seconds: within it the client may use no more than `r`. */
  resetSeconds?: number
  partitionKey?: Uint8Array
}

/** Thrown when a value cannot be represented in a Structured Field (RFC 9651 § 4.1). */
export class HeaderSerializationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}

// RFC 9651 § 3.3.1: Integers have at most 15 digits.
const MAX_SF_INTEGER = 999_999_999_999_999

/** Serializes `RateLimit-Policy`. An empty list gives `''` (omit the field then). */
export function serializeRateLimitPolicy(items: readonly QuotaPolicyItem[]): string {
  return items
    .map((item) => {
      let member = `${sfString(item.name)};q=${sfInteger(item.quota, 'q')}`
      if (item.quotaUnit !== undefined && item.quotaUnit !== 'requests') {
        member += `;qu=${sfString(item.quotaUnit)}`
      }
      if (item.windowSeconds !== undefined) {
        if (item.windowSeconds <= 0) throw new HeaderSerializationError('w must be > 0')
        member += `;w=${sfInteger(item.windowSeconds, 'w')}`
      }
      if (item.partitionKey !== undefined) member += `;pk=${sfByteSequence(item.partitionKey)}`
      return member
    })
    .join(', ')
}

/** Serializes `RateLimit`. An empty list gives `''` (omit the field then). */
export function serializeRateLimit(items: readonly ServiceLimitItem[]): string {
  return items
    .map((item) => {
      let member = `${sfString(item.name)};r=${sfInteger(item.remaining, 'r')}`
      if (item.resetSeconds !== undefined) member += `;t=${sfInteger(item.resetSeconds, 't')}`
      if (item.partitionKey !== undefined) member += `;pk=${sfByteSequence(item.partitionKey)}`
      return member
    })
    .join(', ')
}

/**
 * One policy's `RateLimit` member, `"<name>";r=<remaining>;t=<resetSeconds>`, with the name
 * serialized (and checked) once: on a request path only the two integers are left to write.
 * The output is the one `serializeRateLimit` gives for the same item.
 * @example
 * const member = rateLimitMember('api')
 * member(42, 17) // '"api";r=42;t=17'
 */
export function rateLimitMember(name: string): (remaining: number, resetSeconds: number) => string {
  const prefix = `${sfString(name)};r=`
  return (remaining, resetSeconds) =>
    `${prefix}${sfInteger(remaining, 'r')};t=${sfInteger(resetSeconds, 't')}`
}

/**
 * The de-facto `X-RateLimit-*` headers (GitHub, express-rate-limit `legacyHeaders`): the limit,
 * what is left, and the reset as Unix epoch seconds (unlike the draft's delta `t`).
 */
export function legacyRateLimitHeaders(options: {
  limit: number
  remaining: number
  resetMs: number
  nowMs: number
}): Record<'X-RateLimit-Limit' | 'X-RateLimit-Remaining' | 'X-RateLimit-Reset', string> {
  const { limit, remaining, resetMs, nowMs } = options
  return {
    'X-RateLimit-Limit': String(Math.floor(limit)),
    'X-RateLimit-Remaining': String(Math.max(0, Math.floor(remaining))),
    'X-RateLimit-Reset': String(Math.ceil((nowMs + Math.max(0, resetMs)) / 1000)),
  }
}

/**
 * `Retry-After` in delay-seconds (RFC 9110 § 10.2.3): rounded UP so a client that waits exactly
 * this long is never refused again for the same reason, and at least 1 because `0` invites an
 * immediate retry storm.
 */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000))
}

/**
 * A duration in milliseconds as the draft's whole seconds (`t`), rounded up: reporting less than
 * the real wait would make a well-behaved client retry too early.
 */
export function toDelaySeconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000))
}

/**
 * A policy window as the draft's `w`, or undefined when it is not a whole number of seconds:
 * `w` has no sub-second form, and a rounded window would misstate the policy.
 */
export function toWindowSeconds(windowMs: number): number | undefined {
  return windowMs >= 1000 && windowMs % 1000 === 0 ? windowMs / 1000 : undefined
}

/** RFC 9651 § 4.1.6: printable ASCII only; `"` and `\` escaped with a backslash. */
export function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) {
    throw new HeaderSerializationError(
      `"${value}" is not a valid Structured Field String (printable ASCII only)`
    )
  }
  return `"${value.replace(/[\\"]/g, '\\$&')}"`
}

function sfInteger(value: number, param: string): string {
  // The draft's r, q, t and w are non-negative Integers; r is floored so it never overstates
  // what is left (a token bucket's count can be fractional).
  const integer = Math.floor(value)
  if (!Number.isFinite(integer) || integer < 0 || integer > MAX_SF_INTEGER) {
    throw new HeaderSerializationError(`${param} must be an integer in 0..${MAX_SF_INTEGER}`)
  }
  return String(integer)
}

function sfByteSequence(bytes: Uint8Array): string {
  return `:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}:`
}
