import { randomFillSync } from 'node:crypto'
import { BASE62_ALPHABET } from './base62.ts'

/** 62 × 4: the largest multiple of 62 that fits in a byte. Bytes at or above it are dropped. */
const ACCEPT_BELOW = 248

export type RandomCodeOptions = {
  /** Characters per code; 7 is the floor (62^7 ≈ 3.5 × 10^12 codes). */
  length?: number
  /** Fills a buffer with random bytes. Defaults to the OS CSPRNG; inject only to test the sampler. */
  fillRandom?: (buffer: Uint8Array) => void
  /** Random bytes fetched per refill: one syscall serves many codes. */
  poolSize?: number
}

/**
 * Unguessable base62 codes from a CSPRNG.
 *
 * Each character comes from one random byte. Taking `byte % 62` would favour the first 8
 * characters (256 = 4 × 62 + 8): 5 chances in 256 instead of 4. Rejection sampling drops the
 * bytes 248..255 instead, so every character has probability exactly 1/62.
 *
 * @example
 * ```ts
 * const next = createRandomCode({ length: 9 })
 * next() // 'q3ZbX0kPa'
 * ```
 */
export function createRandomCode({
  length = 9,
  fillRandom = randomFillSync,
  poolSize = 4096,
}: RandomCodeOptions = {}): () => string {
  if (!Number.isInteger(length) || length < 7) {
    throw new RangeError(`A random code needs at least 7 characters, got ${length}`)
  }
  const pool = new Uint8Array(poolSize)
  let offset = poolSize

  return function randomCode() {
    let code = ''
    while (code.length < length) {
      if (offset === poolSize) {
        fillRandom(pool)
        offset = 0
      }
      const byte = pool[offset++] as number
      if (byte < ACCEPT_BELOW) code += BASE62_ALPHABET[byte % 62]
    }
    return code
  }
}
