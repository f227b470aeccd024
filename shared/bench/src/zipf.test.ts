import { describe, expect, it } from 'vitest'
import { createZipf, seededRandom } from './zipf.ts'

function histogram(sample: () => number, n: number, draws: number): number[] {
  const counts = new Array<number>(n).fill(0)
  for (let i = 0; i < draws; i++) counts[sample()]! += 1
  return counts
}

describe('createZipf', () => {
  it('when drawing many ranks, rank 0 is the most frequent and frequencies fall with rank', () => {
    const n = 100
    const draws = 200_000
    const sample = createZipf(n, 1.1, seededRandom(42))

    const counts = histogram(sample, n, draws)

    expect(Math.max(...counts)).toBe(counts[0])
    // Expected share of rank 0 is 1 / H(n, s) (generalised harmonic number), about 0.24 here.
    const harmonic = Array.from({ length: n }, (_, k) => 1 / (k + 1) ** 1.1).reduce((a, b) => a + b)
    expect(counts[0]! / draws).toBeCloseTo(1 / harmonic, 2)
    // Monotone within sampling noise: each rank at most 3 standard deviations above its predecessor.
    for (let k = 1; k < n; k++) {
      expect(counts[k]!).toBeLessThanOrEqual(counts[k - 1]! + 3 * Math.sqrt(counts[k - 1]!) + 1)
    }
    // The head dominates the tail: the first 10 ranks outweigh the last 50.
    const head = counts.slice(0, 10).reduce((a, b) => a + b)
    const tail = counts.slice(50).reduce((a, b) => a + b)
    expect(head).toBeGreaterThan(3 * tail)
  })

  it('when drawing, every rank stays within 0..n-1 and the tail is reached', () => {
    const sample = createZipf(5, 0.5, seededRandom(7))

    const counts = histogram(sample, 5, 10_000)

    expect(counts.every((count) => count > 0)).toBe(true)
    expect(counts.reduce((a, b) => a + b)).toBe(10_000)
  })

  it('when n or s is invalid, throws a RangeError naming it', () => {
    expect(() => createZipf(0, 1.1)).toThrow(/n must be/)
    expect(() => createZipf(10, 0)).toThrow(/s must be/)
  })
})

describe('seededRandom', () => {
  it('when given the same seed, returns the same sequence in [0, 1)', () => {
    const a = seededRandom(1)
    const b = seededRandom(1)

    const first = Array.from({ length: 5 }, a)
    const second = Array.from({ length: 5 }, b)

    expect(first).toEqual(second)
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true)
    expect(new Set(first).size).toBe(5)
  })
})
