/** Digits, then upper case, then lower case: the order keeps base62 strings of equal length sortable like their numbers. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

const DIGIT_VALUES = new Map([...BASE62_ALPHABET].map((char, value) => [char, BigInt(value)]))
const BASE = 62n

/** The input is not a base62 string, or its number does not fit the requested width. */
export class Base62Error extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}

/**
 * Encodes a non-negative integer in base62, left-padded with `0` to `minLength`.
 *
 * @example
 * ```ts
 * encodeBase62(61n) // 'z'
 * encodeBase62(62n, 3) // '010'
 * ```
 */
export function encodeBase62(value: bigint, minLength = 1): string {
  if (value < 0n) throw new Base62Error(`Cannot encode a negative number: ${value}`)
  let out = ''
  let rest = value
  do {
    out = BASE62_ALPHABET[Number(rest % BASE)] + out
    rest /= BASE
  } while (rest > 0n)
  return out.padStart(minLength, '0')
}

/** Decodes a base62 string (case-sensitive) back to its integer. */
export function decodeBase62(text: string): bigint {
  if (text.length === 0) throw new Base62Error('Cannot decode an empty string')
  let value = 0n
  for (const char of text) {
    const digit = DIGIT_VALUES.get(char)
    if (digit === undefined)
      throw new Base62Error(`Not a base62 character: ${JSON.stringify(char)}`)
    value = value * BASE + digit
  }
  return value
}
