/**
 * A small client-side parser for the draft-ietf-httpapi-ratelimit-headers-11 fields.
 *
 * Two layers, as the draft asks:
 * - Syntax is RFC 9651 (Structured Field Lists). A syntax error makes the whole field invalid,
 *   and "clients MUST ignore malformed fields": the parse gives `[]`.
 * - Semantics per member: a member without a String name or without its required integer
 *   (`q` / `r`), or with a parameter of the wrong type, is skipped; the others are kept.
 *   Unknown parameters (vendor ones such as `acme-burst`) are kept in `params`.
 *
 * @example
 * parseRateLimit('"api";r=42;t=17')
 * // [{ name: 'api', remaining: 42, resetSeconds: 17, params: { r: 42, t: 17 } }]
 */

/**
 * A Structured Field bare item (RFC 9651 § 3.3): Integer as `number`, String as `string`.
 * Dates and Display Strings are not needed here (a field using them is ignored).
 */
export type BareItem = number | string | boolean | Uint8Array | Token | Decimal
/** A Token keeps its own type so `"abc"` (String) and `abc` (Token) stay distinct. */
export type Token = { token: string }
/** A Decimal keeps its own type so `r=1.0` is not mistaken for the Integer the draft requires. */
export type Decimal = { decimal: number }
export type Parameters = Record<string, BareItem>
export type Item = { value: BareItem; params: Parameters }
export type InnerList = { items: Item[]; params: Parameters }
export type ListMember = Item | InnerList

export type ParsedQuotaPolicy = {
  name: string
  quota: number
  /** `qu`, `'requests'` when absent. */
  quotaUnit: string
  windowSeconds?: number
  partitionKey?: Uint8Array
  params: Parameters
}

export type ParsedServiceLimit = {
  name: string
  remaining: number
  resetSeconds?: number
  partitionKey?: Uint8Array
  params: Parameters
}

/** Parses `RateLimit-Policy`. Multiple field lines may be passed joined by `, ` (as `Headers.get`). */
export function parseRateLimitPolicy(value: string | null | undefined): ParsedQuotaPolicy[] {
  const policies: ParsedQuotaPolicy[] = []
  for (const member of parseList(value) ?? []) {
    if (!isItem(member) || typeof member.value !== 'string') continue
    const { q, qu, w, pk } = member.params
    if (!isNonNegativeInteger(q)) continue
    if (qu !== undefined && typeof qu !== 'string') continue
    if (w !== undefined && !(isNonNegativeInteger(w) && w > 0)) continue
    if (pk !== undefined && !(pk instanceof Uint8Array)) continue
    policies.push({
      name: member.value,
      quota: q,
      quotaUnit: qu ?? 'requests',
      ...(w !== undefined && { windowSeconds: w }),
      ...(pk !== undefined && { partitionKey: pk }),
      params: member.params,
    })
  }
  return policies
}

/** Parses `RateLimit`. */
export function parseRateLimit(value: string | null | undefined): ParsedServiceLimit[] {
  const limits: ParsedServiceLimit[] = []
  for (const member of parseList(value) ?? []) {
    if (!isItem(member) || typeof member.value !== 'string') continue
    const { r, t, pk } = member.params
    if (!isNonNegativeInteger(r)) continue
    if (t !== undefined && !isNonNegativeInteger(t)) continue
    if (pk !== undefined && !(pk instanceof Uint8Array)) continue
    limits.push({
      name: member.value,
      remaining: r,
      ...(t !== undefined && { resetSeconds: t }),
      ...(pk !== undefined && { partitionKey: pk }),
      params: member.params,
    })
  }
  return limits
}

/**
 * RFC 9651 § 4.2.1 "Parsing a List". Returns undefined on any syntax error (the field must then
 * be ignored as a whole), `[]` for an absent or empty field.
 */
export function parseList(value: string | null | undefined): ListMember[] | undefined {
  if (value === null || value === undefined) return []
  const parser = new Parser(value)
  try {
    parser.skipSpaces()
    const members = parser.list()
    parser.skipSpaces()
    if (!parser.done()) return undefined
    return members
  } catch (error) {
    if (error instanceof SyntaxError) return undefined
    throw error
  }
}

function isItem(member: ListMember): member is Item {
  return 'value' in member
}

function isNonNegativeInteger(value: BareItem | undefined): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
}

const KEY_START = /[a-z*]/
const KEY_CHAR = /[a-z0-9_\-.*]/
const TOKEN_START = /[A-Za-z*]/
// tchar (RFC 9110 § 5.6.2) plus ':' and '/'.
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/
const BASE64 = /^[A-Za-z0-9+/=]*$/

class Parser {
  private index = 0

  constructor(private readonly input: string) {}

  done(): boolean {
    return this.index >= this.input.length
  }

  skipSpaces(): void {
    while (this.input[this.index] === ' ') this.index++
  }

  private skipOws(): void {
    while (this.input[this.index] === ' ' || this.input[this.index] === '\t') this.index++
  }

  list(): ListMember[] {
    const members: ListMember[] = []
    while (!this.done()) {
      members.push(this.input[this.index] === '(' ? this.innerList() : this.item())
      this.skipOws()
      if (this.done()) return members
      if (this.input[this.index] !== ',') throw new SyntaxError('expected ","')
      this.index++
      this.skipOws()
      if (this.done()) throw new SyntaxError('trailing ","')
    }
    return members
  }

  private innerList(): InnerList {
    this.index++ // '('
    const items: Item[] = []
    while (!this.done()) {
      this.skipSpaces()
      if (this.input[this.index] === ')') {
        this.index++
        return { items, params: this.parameters() }
      }
      items.push(this.item())
      const next = this.input[this.index]
      if (next !== ' ' && next !== ')') throw new SyntaxError('expected " " or ")"')
    }
    throw new SyntaxError('unterminated inner list')
  }

  private item(): Item {
    const value = this.bareItem()
    return { value, params: this.parameters() }
  }

  private parameters(): Parameters {
    const params: Parameters = {}
    while (this.input[this.index] === ';') {
      this.index++
      // The draft's own examples and express-rate-limit send "; q=100": spaces are allowed here.
      this.skipSpaces()
      const key = this.key()
      let value: BareItem = true
      if (this.input[this.index] === '=') {
        this.index++
        value = this.bareItem()
      }
      params[key] = value // a repeated key overwrites (RFC 9651 § 4.2.3.2)
    }
    return params
  }

  private key(): string {
    const start = this.index
    if (!KEY_START.test(this.input[this.index] ?? '')) throw new SyntaxError('invalid key')
    this.index++
    while (KEY_CHAR.test(this.input[this.index] ?? '')) this.index++
    return this.input.slice(start, this.index)
  }

  private bareItem(): BareItem {
    const char = this.input[this.index] ?? ''
    if (char === '-' || (char >= '0' && char <= '9')) return this.number()
    if (char === '"') return this.string()
    if (char === ':') return this.byteSequence()
    if (char === '?') return this.boolean()
    if (TOKEN_START.test(char)) return this.token()
    throw new SyntaxError('invalid bare item')
  }

  private number(): number | Decimal {
    const match = /^(-?)(\d{1,15})(?:\.(\d{1,3}))?/.exec(this.input.slice(this.index))
    if (match === null) throw new SyntaxError('invalid number')
    const [text, , integerPart = '', fraction] = match
    if (fraction !== undefined && integerPart.length > 12) throw new SyntaxError('invalid decimal')
    // A trailing '.' or a 4th decimal digit is not a number the regex could stop before.
    const next = this.input[this.index + text.length]
    if (next === '.' || (next !== undefined && next >= '0' && next <= '9')) {
      throw new SyntaxError('invalid number')
    }
    this.index += text.length
    return fraction === undefined ? Number(text) : { decimal: Number(text) }
  }

  private string(): string {
    this.index++ // '"'
    let value = ''
    while (!this.done()) {
      const char = this.input[this.index++] as string
      if (char === '\\') {
        const escaped = this.input[this.index++]
        if (escaped !== '"' && escaped !== '\\') throw new SyntaxError('invalid escape')
        value += escaped
      } else if (char === '"') {
        return value
      } else if (char < ' ' || char > '~') {
        throw new SyntaxError('invalid string character')
      } else {
        value += char
      }
    }
    throw new SyntaxError('unterminated string')
  }

  private byteSequence(): Uint8Array {
    const end = this.input.indexOf(':', this.index + 1)
    if (end === -1) throw new SyntaxError('unterminated byte sequence')
    const base64 = this.input.slice(this.index + 1, end)
    if (!BASE64.test(base64)) throw new SyntaxError('invalid byte sequence')
    this.index = end + 1
    return new Uint8Array(Buffer.from(base64, 'base64'))
  }

  private boolean(): boolean {
    const value = this.input[this.index + 1]
    if (value !== '0' && value !== '1') throw new SyntaxError('invalid boolean')
    this.index += 2
    return value === '1'
  }

  private token(): Token {
    const start = this.index
    this.index++
    while (TOKEN_CHAR.test(this.input[this.index] ?? '')) this.index++
    return { token: this.input.slice(start, this.index) }
  }
}
