import { encodeBase62 } from './base62.ts'
import { createFeistelPermutation } from './feistel-permutation.ts'
import { createRandomCode } from './random-code.ts'
import { createSnowflake } from './snowflake.ts'

export const CODE_STRATEGIES = ['random', 'snowflake', 'snowflake-scrambled'] as const
export type CodeStrategyName = (typeof CODE_STRATEGIES)[number]

/** Where short codes come from. `next()` is synchronous and cheap: it runs inside the create. */
export type CodeStrategy = {
  readonly name: CodeStrategyName
  next(): string
}

export type CodeStrategyOptions = {
  /** Length of random codes (>= 7). */
  length?: number
  /** Snowflake worker id, 0..1023, distinct per instance. */
  workerId?: number
  /** Key of the scrambling permutation; the same on every instance. */
  secret?: string
  now?: () => number
}

/** 62^10 < 2^64 <= 62^11: every scrambled id fits in 11 characters. */
const SCRAMBLED_LENGTH = 11

/**
 * Builds the configured code strategy.
 *
 * - `random`: CSPRNG base62 of `length` characters. Unguessable; collisions are possible
 *   (birthday bound) and retried by the store on the UNIQUE violation.
 * - `snowflake`: base62 of a 64-bit time-ordered id (about 10 characters). Unique without
 *   coordination, never retries, but ENUMERABLE: codes created close in time are close in
 *   value, so anyone holding one code can walk to its neighbours.
 * - `snowflake-scrambled`: the same id through a keyed 64-bit permutation, padded to 11
 *   characters. Still unique without coordination; neighbours are no longer adjacent. The
 *   space is 2^64 but only ids that were issued exist, so guessing stays as hard as for random
 *   codes of the same density only while the key stays secret: a leaked key makes the codes
 *   exactly as enumerable as plain snowflakes.
 *
 * @example
 * ```ts
 * const codes = createCodeStrategy('snowflake-scrambled', { workerId: 1, secret })
 * codes.next() // '7GQp0kPaZ3c'
 * ```
 */
export function createCodeStrategy(
  name: CodeStrategyName,
  { length, workerId, secret, now }: CodeStrategyOptions = {}
): CodeStrategy {
  switch (name) {
    case 'random': {
      const next = createRandomCode({ length })
      return { name, next }
    }
    case 'snowflake': {
      const nextId = createSnowflake({ workerId, now })
      return { name, next: () => encodeBase62(nextId()) }
    }
    case 'snowflake-scrambled': {
      if (secret === undefined) throw new RangeError('snowflake-scrambled needs a secret')
      const nextId = createSnowflake({ workerId, now })
      const permutation = createFeistelPermutation(secret)
      return { name, next: () => encodeBase62(permutation.encrypt(nextId()), SCRAMBLED_LENGTH) }
    }
  }
}
