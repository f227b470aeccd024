import { describe, expect, it } from 'vitest'
import { BASE62_ALPHABET, decodeBase62, encodeBase62 } from './base62.ts'
import { createRandomCode } from './random-code.ts'

/**
 * Chi-square statistic of each position's character counts against the uniform law.
 * Returns the largest one.
 */
function worstChiSquare(codes: Iterable<string>, length: number): number {
  const counts = Array.from({ length }, () => new Map<string, number>())
  let total = 0
  for (const code of codes) {
    total++
    for (let position = 0; position < length; position++) {
      const map = counts[position] as Map<string, number>
      const char = code[position] as string
      map.set(char, (map.get(char) ?? 0) + 1)
    }
  }
  const expected = total / 62
  return Math.max(
    ...counts.map((map) =>
      [...BASE62_ALPHABET].reduce(
        (sum, char) => sum + ((map.get(char) ?? 0) - expected) ** 2 / expected,
        0
      )
    )
  )
}

/** Wilson–Hilferty approximation of the chi-square quantile for `df` degrees of freedom. */
function chiSquareQuantile(df: number, z: number): number {
  const k = 2 / (9 * df)
  return df * (1 - k + z * Math.sqrt(k)) ** 3
}

// p = 1e-6 (z = 4.753) for the whole test: a modulo bias gives a statistic in the thousands
// (see the last test), so the bound catches it while a fair generator fails once in a million runs.
const CRITICAL = chiSquareQuantile(61, 4.753)

describe('createRandomCode', () => {
  it('when 1,000,000 codes are drawn, none collides and every position is uniform', () => {
    const next = createRandomCode({ length: 9 })
    const codes = new Set<string>()

    for (let i = 0; i < 1_000_000; i++) codes.add(next())

    // Birthday bound: 1e12 / (2 × 62^9) ≈ 3.7e-5 expected collisions.
    expect(codes.size).toBe(1_000_000)
    expect(worstChiSquare(codes, 9)).toBeLessThan(CRITICAL)
  })

  it('when a length is given, every code has it and uses only base62 characters', () => {
    const next = createRandomCode({ length: 12 })

    const codes = Array.from({ length: 1000 }, next)

    for (const code of codes) expect(code).toMatch(/^[0-9A-Za-z]{12}$/)
  })

  it('when two codes are drawn in a row, the second is not the first plus one', () => {
    const next = createRandomCode()

    const pairs = Array.from({ length: 1000 }, () => [next(), next()] as const)

    const sequential = pairs.filter(([a, b]) => encodeBase62(decodeBase62(a) + 1n, 9) === b)
    expect(sequential).toHaveLength(0)
  })

  it('when bytes at or above 248 come out, they are skipped rather than folded', () => {
    const bytes = [255, 248, 0, 250, 61, 62, 247, 100, 123, 200]
    const next = createRandomCode({
      length: 7,
      poolSize: bytes.length,
      fillRandom: (buffer) => buffer.set(bytes),
    })

    expect(next()).toBe('0z0zczE')
  })

  it('when the length is under 7, refuses', () => {
    expect(() => createRandomCode({ length: 6 })).toThrow(RangeError)
  })

  it('when the sampler folds bytes with a plain modulo, the chi-square bound catches it', () => {
    const biased = (function* () {
      const bytes = new Uint8Array(9)
      for (let i = 0; i < 200_000; i++) {
        crypto.getRandomValues(bytes)
        yield [...bytes].map((byte) => BASE62_ALPHABET[byte % 62]).join('')
      }
    })()

    expect(worstChiSquare(biased, 9)).toBeGreaterThan(CRITICAL)
  })
})
