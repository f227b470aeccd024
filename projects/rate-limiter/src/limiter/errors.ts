/**
 * The store (Redis) could not answer: connection down, command timed out, script failed.
 * A limiter throws it instead of guessing; `createResilientLimiter` turns it into the configured
 * outage policy (fail open, fail closed, insurance). The original error is in `cause`.
 */
export class StoreUnavailableError extends Error {
  constructor(message = 'Rate limit store unavailable', options?: { cause?: unknown }) {
    super(message, options)
    this.name = this.constructor.name
  }
}

/**
 * The caller asked something no policy can answer: a key that is empty or longer than 512 bytes,
 * a cost that is negative, fractional or not finite, or a cost larger than the policy's capacity
 * (such a request could never pass, so it is a bug, not a 429).
 */
export class InvalidRequestError extends Error {
  /** The offending argument, when known: 'key', 'cost' or (a batch) 'count'. */
  readonly field: 'key' | 'cost' | 'count' | undefined

  constructor(message: string, options?: { field?: 'key' | 'cost' | 'count'; cause?: unknown }) {
    super(message, options)
    this.name = this.constructor.name
    this.field = options?.field
  }
}

/**
 * A policy that cannot work (limit or windowMs not a positive integer, unknown algorithm...),
 * thrown by the factories at start-up. `issues` names every bad field.
 */
export class InvalidPolicyError extends Error {
  readonly issues: readonly { path: string; message: string }[]

  constructor(issues: readonly { path: string; message: string }[]) {
    super(`Invalid rate limit policy: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`)
    this.name = this.constructor.name
    this.issues = issues
  }
}
