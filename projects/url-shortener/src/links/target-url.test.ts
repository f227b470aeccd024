import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkTarget, hostOf, MAX_TARGET_LENGTH } from './target-url.ts'
import { CORPUS_POLICY, HOSTILE_TARGETS, VALID_TARGETS } from './target-url.fixtures.ts'

describe('checkTarget', () => {
  it('when the target is hostile, refuses every one of the corpus', () => {
    const accepted = HOSTILE_TARGETS.filter((raw) => checkTarget(raw, CORPUS_POLICY).ok)

    expect(HOSTILE_TARGETS.length).toBeGreaterThan(70)
    expect(accepted).toEqual([])
  })

  it('when the target is a valid http(s) URL, accepts every one of the corpus', () => {
    const refused = VALID_TARGETS.map((raw) => ({
      raw,
      check: checkTarget(raw, CORPUS_POLICY),
    })).filter(({ check }) => !check.ok)

    expect(VALID_TARGETS.length).toBeGreaterThanOrEqual(20)
    expect(refused).toEqual([])
  })

  it('when accepted, returns the WHATWG href: ASCII, lower-case scheme and host', () => {
    expect(checkTarget('HTTPS://Example.COM', CORPUS_POLICY)).toEqual({
      ok: true,
      url: 'https://example.com/',
    })
    expect(checkTarget('https://münchen.example/straße', CORPUS_POLICY)).toEqual({
      ok: true,
      url: 'https://xn--mnchen-3ya.example/stra%C3%9Fe',
    })
  })

  it('when the reason differs, says which', () => {
    const message = (raw: string) => {
      const check = checkTarget(raw, CORPUS_POLICY)
      return check.ok ? null : check.message
    }

    expect(message('javascript:alert(1)')).toMatch(/http:\/\/ or https:\/\//)
    expect(message('https://a b')).toMatch(/whitespace/)
    expect(message('https://u:p@example.com')).toMatch(/credentials/)
    expect(message('https://sho.rt/x')).toMatch(/this shortener/)
    expect(message('https://bit.ly/x')).toMatch(/not allowed/)
    expect(message(`https://example.com/${'a'.repeat(MAX_TARGET_LENGTH)}`)).toMatch(/2048/)
  })

  it('when any accepted target is parsed again, it is http(s) and unchanged', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (raw) => {
        const check = checkTarget(raw, { ownHosts: [], denyHosts: [] })
        if (!check.ok) return
        const again = new URL(check.url)
        expect(['http:', 'https:']).toContain(again.protocol)
        expect(again.href).toBe(check.url)
      }),
      { numRuns: 1000 }
    )
  })

  it('when a base URL is given, hostOf gives its normalised host', () => {
    expect(hostOf('https://Sho.RT./')).toBe('sho.rt')
    expect(hostOf('http://127.0.0.1:3000')).toBe('127.0.0.1')
  })
})
