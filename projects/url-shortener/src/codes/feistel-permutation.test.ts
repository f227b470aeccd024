import { describe, expect, it } from 'vitest'
import { createFeistelPermutation } from './feistel-permutation.ts'

const SECRET = 'test-secret-0123456789'

function popCount(value: bigint): number {
  let count = 0
  for (let rest = value; rest > 0n; rest >>= 1n) count += Number(rest & 1n)
  return count
}

describe('createFeistelPermutation', () => {
  it('when 20,000 consecutive ids are encrypted, outputs are distinct and decrypt back', () => {
    const permutation = createFeistelPermutation(SECRET)
    const start = 581_474_151_890_399_232n
    const outputs = new Set<bigint>()

    let roundTripFailures = 0
    for (let id = start; id < start + 20_000n; id++) {
      const encrypted = permutation.encrypt(id)
      outputs.add(encrypted)
      if (permutation.decrypt(encrypted) !== id) roundTripFailures++
    }

    expect(outputs.size).toBe(20_000)
    expect(roundTripFailures).toBe(0)
  })

  it('when consecutive ids are encrypted, about half the 64 output bits change', () => {
    const permutation = createFeistelPermutation(SECRET)
    const start = 1n << 40n

    let flipped = 0
    let minFlipped = 64
    for (let id = start; id < start + 10_000n; id++) {
      const bits = popCount(permutation.encrypt(id) ^ permutation.encrypt(id + 1n))
      flipped += bits
      minFlipped = Math.min(minFlipped, bits)
    }

    // A fair coin per bit gives a mean of 32 with a standard error of 0.04 over 10,000 pairs.
    expect(flipped / 10_000).toBeGreaterThan(31)
    expect(flipped / 10_000).toBeLessThan(33)
    expect(minFlipped).toBeGreaterThan(8)
  })

  it('when the key differs, the permutation differs', () => {
    const a = createFeistelPermutation(SECRET)
    const b = createFeistelPermutation(`${SECRET}!`)

    expect(a.encrypt(12345n)).not.toBe(b.encrypt(12345n))
  })

  it('when the edges of the 64-bit range are encrypted, they round-trip', () => {
    const permutation = createFeistelPermutation(SECRET)

    for (const value of [0n, 1n, (1n << 63n) - 1n, (1n << 64n) - 1n]) {
      const encrypted = permutation.encrypt(value)
      expect(encrypted).toBeLessThan(1n << 64n)
      expect(permutation.decrypt(encrypted)).toBe(value)
    }
  })
})
