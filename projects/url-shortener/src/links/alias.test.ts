import { describe, expect, it } from 'vitest'
import { aliasProblem, isReserved, RESERVED_WORDS } from './alias.ts'

function caseForms(word: string): string[] {
  const alternating = [...word].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('')
  return [word, word.toUpperCase(), word[0]?.toUpperCase() + word.slice(1), alternating]
}

describe('aliasProblem', () => {
  it('when the alias is a reserved word in any case, refuses it', () => {
    const forms = [...RESERVED_WORDS].flatMap(caseForms).filter((form) => form.length >= 3)

    const accepted = forms.filter((form) => aliasProblem(form) === null)

    expect(forms.length).toBeGreaterThan(100)
    expect(accepted).toEqual([])
    expect(isReserved('HeAlThZ')).toBe(true)
  })

  it.each(['abc', 'My_Link-2024', 'a'.repeat(64), '---', '0000'])(
    'when %s, accepts it',
    (alias) => {
      expect(aliasProblem(alias)).toBeNull()
    }
  )

  it.each(['ab', 'a'.repeat(65), 'with space', 'dot.ted', 'slash/ed', 'plus+', 'ünï', ''])(
    'when %j, refuses it with the pattern',
    (alias) => {
      expect(aliasProblem(alias)).toMatch(/3 to 64 characters/)
    }
  )
})
