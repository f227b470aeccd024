import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Base62Error, decodeBase62, encodeBase62 } from './base62.ts'

describe('base62', () => {
  it('when a number is encoded then decoded, gives the number back', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (value) => {
        expect(decodeBase62(encodeBase62(value))).toBe(value)
      })
    )
  })

  it('when given the edges of the alphabet, encodes them as single digits', () => {
    expect(encodeBase62(0n)).toBe('0')
    expect(encodeBase62(61n)).toBe('z')
    expect(encodeBase62(62n)).toBe('10')
    expect(encodeBase62(2n ** 64n - 1n)).toBe('LygHa16AHYF')
  })

  it('when a minimum length is asked, pads with zeros without changing the value', () => {
    const encoded = encodeBase62(62n, 5)

    expect(encoded).toBe('00010')
    expect(decodeBase62(encoded)).toBe(62n)
  })

  it('when the input is negative or not base62, throws Base62Error', () => {
    expect(() => encodeBase62(-1n)).toThrow(Base62Error)
    expect(() => decodeBase62('')).toThrow(Base62Error)
    expect(() => decodeBase62('ab-c')).toThrow(Base62Error)
  })
})
