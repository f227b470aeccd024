import { describe, expect, it } from 'vitest'
import { placeholdersOf, requestMix } from './request-mix.ts'

describe('requestMix()', () => {
  it('when drawing, fills {pick} and {unique} in path, headers and body, and counts each draw', () => {
    const mix = requestMix({
      method: 'POST',
      path: '/links/{pick}',
      headers: { 'x-client': 'c-{pick}', 'content-type': 'application/json' },
      body: '{"url":"https://example.com/{unique}"}',
      pick: { values: ['a', 'b', 'c'], distribution: 'cycle' },
    })

    const first = mix.next()
    const second = mix.next()

    expect(first).toEqual({
      method: 'POST',
      path: '/links/a',
      headers: { 'x-client': 'c-a', 'content-type': 'application/json' },
      body: '{"url":"https://example.com/1"}',
    })
    expect(second.path).toBe('/links/b')
    expect(second.body).toBe('{"url":"https://example.com/2"}')
    expect(mix.sent).toEqual({ total: 2, byPick: [1, 1, 0] })
    expect(mix.nextUnique).toBe(3)
  })

  it('when the distribution is Zipf, the first value is drawn most and the draws repeat per seed', () => {
    const values = Array.from({ length: 100 }, (_, i) => `v${i}`)
    const draw = (seed: number) => {
      const mix = requestMix({
        path: '/{pick}',
        pick: { values, distribution: { zipf: 1.1 } },
        seed,
      })
      const paths = Array.from({ length: 5000 }, () => mix.next().path)
      return { paths, byPick: mix.sent.byPick }
    }

    const a = draw(7)
    const b = draw(7)

    expect(a.paths).toEqual(b.paths)
    expect(Math.max(...a.byPick)).toBe(a.byPick[0])
    expect(a.byPick[0]!).toBeGreaterThan(5 * a.byPick[50]!)
    expect(a.byPick.reduce((sum, n) => sum + n, 0)).toBe(5000)
  })

  it('when an external generator reports its draws, adds them and never reuses a unique value', () => {
    const mix = requestMix({
      path: '/{pick}',
      body: '{unique}',
      pick: { values: ['x', 'y'], distribution: 'uniform' },
    })
    mix.next()

    mix.record({ total: 10, byPick: [4, 6], nextUnique: 42 })
    const after = mix.next()

    expect(mix.sent.total).toBe(12)
    expect(mix.sent.byPick.reduce((sum, n) => sum + n, 0)).toBe(12)
    expect(after.body).toBe('42')
  })

  it('when a template uses {pick} without values, refuses it', () => {
    expect(() => requestMix({ path: '/{pick}' })).toThrow(/gives no pick.values/)
    expect(() =>
      requestMix({ path: '/{pick}', pick: { values: ['a'], distribution: { zipf: 0 } } })
    ).toThrow(/zipf exponent/)
    expect(() => requestMix({ path: 'no-slash' })).toThrow(/must start with \//)
  })
})

describe('placeholdersOf()', () => {
  it('when placeholders sit in headers or body only, still finds them', () => {
    expect(placeholdersOf({ path: '/', headers: { 'x-id': '{pick}' } })).toEqual({
      pick: true,
      unique: false,
    })
    expect(placeholdersOf({ path: '/', body: '{"n":{unique}}' })).toEqual({
      pick: false,
      unique: true,
    })
  })
})
