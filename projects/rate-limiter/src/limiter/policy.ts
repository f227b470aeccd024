import { InvalidPolicyError, InvalidRequestError } from './errors.ts'
import type { Algorithm, Policy } from './types.ts'

/** Every algorithm this library implements, in the order the README presents them. */
export const ALGORITHMS: readonly Algorithm[] = [
  'fixed-window',
  'sliding-log',
  'sliding-window',
  'token-bucket',
  'gcra',
]

/** Longest key accepted, in UTF-8 bytes: a key is an identity (IP, API key, user id), not data. */
export const MAX_KEY_BYTES = 512

/**
 * Checks a policy and returns it frozen; throws InvalidPolicyError naming every bad field.
 * The factories call it, so a bad policy fails at start-up, not at the first request.
 * @example
 * validatePolicy({ name: 'api', algorithm: 'gcra', limit: 10, windowMs: 1000, burst: 20 })
 */
export function validatePolicy(policy: Policy): Readonly<Policy> {
  const issues: { path: string; message: string }[] = []
  const positiveInteger = (path: string, value: unknown) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      issues.push({ path, message: `must be a positive integer, got ${String(value)}` })
    }
  }
  if (typeof policy.name !== 'string' || policy.name.length === 0) {
    issues.push({ path: 'name', message: 'must be a non-empty string' })
  }
  if (!ALGORITHMS.includes(policy.algorithm)) {
    issues.push({
      path: 'algorithm',
      message: `must be one of ${ALGORITHMS.join(', ')}, got ${String(policy.algorithm)}`,
    })
  }
  positiveInteger('limit', policy.limit)
  positiveInteger('windowMs', policy.windowMs)
  if (policy.burst !== undefined) positiveInteger('burst', policy.burst)
  if (issues.length > 0) throw new InvalidPolicyError(issues)
  return Object.freeze({ ...policy })
}

/**
 * The largest cost one request may ask for: the bucket size for token bucket and GCRA
 * (`burst ?? limit`), the limit for the window algorithms (`burst` does not apply to them).
 */
export function capacityOf(policy: Policy): number {
  return policy.algorithm === 'token-bucket' || policy.algorithm === 'gcra'
    ? (policy.burst ?? policy.limit)
    : policy.limit
}

/**
 * Throws InvalidRequestError unless `key` is a non-empty string of at most 512 UTF-8 bytes.
 * Cheap on the hot path: byte length is only measured when the key could exceed the limit.
 */
export function assertKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidRequestError('key must be a non-empty string', { field: 'key' })
  }
  // One UTF-16 code unit is at most 3 UTF-8 bytes, so short keys need no measuring.
  if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new InvalidRequestError(`key must be at most ${MAX_KEY_BYTES} bytes (UTF-8)`, {
      field: 'key',
    })
  }
}

/**
 * Throws InvalidRequestError unless `cost` is an integer in [0, capacity]. Costs are whole units
 * (a request, a kilobyte, a token) so that `remaining` stays an integer on every backend; a cost
 * above the capacity could never pass, so it is the caller's bug rather than a 429.
 */
export function assertCost(cost: number, capacity: number): void {
  if (!Number.isSafeInteger(cost) || cost < 0) {
    throw new InvalidRequestError(`cost must be an integer >= 0, got ${String(cost)}`, {
      field: 'cost',
    })
  }
  if (cost > capacity) {
    throw new InvalidRequestError(`cost ${cost} exceeds the policy's capacity of ${capacity}`, {
      field: 'cost',
    })
  }
}

/** Most consumes one `consumeBatch` decides: a Redis script runs alone, so its loop is bounded. */
export const MAX_BATCH = 1000

/** Throws InvalidRequestError unless `count` is an integer in [1, MAX_BATCH] and `cost` >= 1. */
export function assertBatch(cost: number, count: number, capacity: number): void {
  assertCost(cost, capacity)
  if (cost === 0) {
    throw new InvalidRequestError('a batch must cost at least 1 each', { field: 'cost' })
  }
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_BATCH) {
    throw new InvalidRequestError(
      `count must be an integer in 1..${MAX_BATCH}, got ${String(count)}`,
      { field: 'count' }
    )
  }
}

/**
 * assertKey and assertCost for a caller that returns a promise without being `async` (the Redis
 * and coalescing hot paths): the failure as a rejected promise, or undefined when the request is
 * valid.
 */
export function rejectInvalidRequest(
  key: string,
  cost: number,
  capacity: number
): Promise<never> | undefined {
  try {
    assertKey(key)
    assertCost(cost, capacity)
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }
  return undefined
}
