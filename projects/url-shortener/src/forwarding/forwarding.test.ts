import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { forwardedTarget } from './forwarding.ts'

describe('forwardedTarget', () => {
  it("when git asks for /info/refs?service=git-upload-pack below the code, appends both to the repository's URL", () => {
    expect(
      forwardedTarget('https://git.example/org/repo.git', {
        path: '/info/refs',
        query: 'service=git-upload-pack',
      })
    ).toBe('https://git.example/org/repo.git/info/refs?service=git-upload-pack')
    expect(
      forwardedTarget('https://git.example/org/repo/', { path: '/info/refs', query: '' })
    ).toBe('https://git.example/org/repo/info/refs')
  })

  it("when the query names a parameter the target already has, keeps the target's and adds the others", () => {
    expect(
      forwardedTarget('https://shop.example/?ref=partner#top', {
        path: '',
        query: 'ref=me&utm_source=mail&ref=again&q=a%20b',
      })
    ).toBe('https://shop.example/?ref=partner&utm_source=mail&q=a%20b#top')
  })

  it('when the path has a dot segment in any spelling, refuses it', () => {
    for (const path of ['/../admin', '/a/./b', '/%2e%2e/x', '/%2E%2e/x', '/.%2e/x', '/a/%2e']) {
      expect(forwardedTarget('https://git.example/org/repo.git', { path, query: '' }), path).toBe(
        undefined
      )
    }
  })

  it('when any path and query are forwarded, the host stays the target host and the result re-parses to itself', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9%._~!$&'()*+,;=:@-]{1,12}$/)
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 4 }),
        fc.array(fc.tuple(segment, segment), { maxLength: 4 }),
        (segments, pairs) => {
          const path = segments.length === 0 ? '' : `/${segments.join('/')}`
          const query = pairs.map(([name, value]) => `${name}=${value}`).join('&')

          const forwarded = forwardedTarget('https://target.example/base?keep=1', { path, query })

          if (forwarded === undefined) return
          const url = new URL(forwarded)
          expect(url.host).toBe('target.example')
          expect(url.href).toBe(forwarded)
          expect(url.searchParams.get('keep')).toBe('1')
        }
      ),
      { numRuns: 1000 }
    )
  })
})
