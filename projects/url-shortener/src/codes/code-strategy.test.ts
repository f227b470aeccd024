import { describe, expect, it } from 'vitest'
import { decodeBase62 } from './base62.ts'
import { CODE_STRATEGIES, createCodeStrategy } from './code-strategy.ts'

const SECRET = 'test-secret-0123456789'

describe('createCodeStrategy', () => {
  it.each(CODE_STRATEGIES)('when %s draws 10,000 codes, they are distinct base62', (name) => {
    const codes = createCodeStrategy(name, { secret: SECRET, workerId: 7 })

    const drawn = Array.from({ length: 10_000 }, () => codes.next())

    expect(new Set(drawn).size).toBe(10_000)
    for (const code of drawn) expect(code).toMatch(/^[0-9A-Za-z]{7,11}$/)
  })

  it('when snowflake codes are drawn in a row, their numbers increase (the enumeration risk)', () => {
    const codes = createCodeStrategy('snowflake')

    const numbers = Array.from({ length: 1000 }, () => decodeBase62(codes.next()))

    expect(numbers.every((value, i) => i === 0 || value > (numbers[i - 1] as bigint))).toBe(true)
  })

  it('when scrambled codes are drawn in a row, their numbers are not ordered', () => {
    const codes = createCodeStrategy('snowflake-scrambled', { secret: SECRET })

    const numbers = Array.from({ length: 1000 }, () => decodeBase62(codes.next()))

    const increasing = numbers.filter((value, i) => i > 0 && value > (numbers[i - 1] as bigint))
    expect(increasing.length).toBeGreaterThan(400)
    expect(increasing.length).toBeLessThan(600)
    for (const code of numbers) expect(code).toBeLessThan(1n << 64n)
  })

  it('when snowflake-scrambled has no secret, refuses', () => {
    expect(() => createCodeStrategy('snowflake-scrambled')).toThrow(RangeError)
  })

  it('when random is asked for a length, uses it', () => {
    const codes = createCodeStrategy('random', { length: 7 })

    expect(codes.next()).toHaveLength(7)
  })
})
