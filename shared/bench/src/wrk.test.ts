import { describe, expect, it } from 'vitest'
import {
  findWrk,
  luaString,
  parseWrkResult,
  renderWrkScript,
  WRK_RESULT_MARK,
  WrkOutputError,
} from './wrk.ts'

describe('luaString()', () => {
  it('when text holds quotes, backslashes, line breaks and UTF-8, escapes them as Lua reads them', () => {
    expect(luaString('a"b\\c')).toBe('"a\\"b\\\\c"')
    expect(luaString('x\ny')).toBe('"x\\010y"')
    expect(luaString('é')).toBe('"\\195\\169"')
  })
})

describe('renderWrkScript()', () => {
  const redirect = {
    path: '/{pick}',
    headers: { 'User-Agent': 'Mozilla/5.0 "quoted"' },
    pick: { values: ['abc', 'def'], distribution: { zipf: 1.1 } },
  } as const

  it('when the template draws Zipf paths, builds each request from the pick and embeds the values', () => {
    const script = renderWrkScript({ template: redirect, threads: 1, seed: 9 })

    expect(script).toContain('local distribution = "zipf"')
    expect(script).toContain('local zipf_s = 1.1')
    expect(script).toContain('local values_blob = "abc\\010def\\010"')
    expect(script).toContain(
      'wrk.format(method, "/" .. pick, { ["User-Agent"] = "Mozilla/5.0 \\"quoted\\"" }, nil)'
    )
    expect(script).toContain('local uses_unique = false')
    expect(script).toContain('local seed = 9')
    for (const hook of ['setup', 'init', 'request', 'response', 'done']) {
      expect(script).toMatch(new RegExp(`^function ${hook}\\(`, 'm'))
    }
  })

  it('when the body holds {unique}, numbers it per thread from firstUnique', () => {
    const script = renderWrkScript({
      template: {
        method: 'POST',
        path: '/api/links',
        headers: { 'content-type': 'application/json' },
        body: '{"url":"https://example.com/created/{unique}"}',
      },
      threads: 2,
      firstUnique: 101,
      pipelining: 4,
    })

    expect(script).toContain('local method = "POST"')
    expect(script).toContain('"{\\"url\\":\\"https://example.com/created/" .. unique .. "\\"}"')
    expect(script).toContain('local distribution = "none"')
    expect(script).toContain('local uses_unique = true')
    expect(script).toContain('local first_unique = 101')
    expect(script).toContain('local thread_total = 2')
    expect(script).toContain('local pipelining = 4')
  })

  it('when values could break the one-per-line blob, or threads are 0, refuses', () => {
    const template = { path: '/{pick}', pick: { values: ['a\nb'], distribution: 'cycle' as const } }

    expect(() => renderWrkScript({ template, threads: 1 })).toThrow(/line break/)
    expect(() => renderWrkScript({ template: { path: '/' }, threads: 0 })).toThrow(/threads/)
  })
})

/** What wrk prints: its own summary, then the script's line. */
function wrkOutput(json: object): string {
  return [
    'Running 1s test @ http://127.0.0.1:3000/',
    '  1 threads and 10 connections',
    'Requests/sec:  12000.00',
    `${WRK_RESULT_MARK} ${JSON.stringify(json)}`,
    '',
  ].join('\n')
}

const sample = {
  requests: 12_000,
  durationUs: 1_002_000,
  bytes: 1_500_000,
  errors: { connect: 0, read: 1, write: 0, status: 3, timeout: 2 },
  latencyUs: { p50: 410, p97_5: 1900, p99: 2500, max: 9000 },
  statuses: { '302': 11_997, '500': 3 },
  built: 12_010,
  byPick: [9000, 3010],
  nextUnique: 1,
}

describe('parseWrkResult()', () => {
  it('when the result line sits among wrk’s own text, reads it, latencies in ms', () => {
    const result = parseWrkResult(wrkOutput(sample))

    expect(result).toEqual({
      requests: 12_000,
      durationSeconds: 1.002,
      bytes: 1_500_000,
      errors: { connect: 0, read: 1, write: 0, status: 3, timeout: 2 },
      latencyMs: { p50: 0.41, p97_5: 1.9, p99: 2.5, max: 9 },
      statuses: { '302': 11_997, '500': 3 },
      built: 12_010,
      byPick: [9000, 3010],
      nextUnique: 1,
    })
  })

  it('when there is no result line (wrk failed early), throws with the output', () => {
    const output = 'unable to connect to 127.0.0.1:1 Connection refused\n'

    const error = (() => {
      try {
        parseWrkResult(output)
      } catch (e) {
        return e
      }
    })()

    expect(error).toBeInstanceOf(WrkOutputError)
    expect((error as WrkOutputError).message).toMatch(/no result line[\s\S]*Connection refused/)
  })

  it('when a field is missing, negative or not a number, throws naming it', () => {
    const { requests: _, ...noRequests } = sample

    expect(() => parseWrkResult(wrkOutput(noRequests))).toThrow(/requests is undefined/)
    expect(() => parseWrkResult(wrkOutput({ ...sample, built: -1 }))).toThrow(/built is -1/)
    expect(() =>
      parseWrkResult(wrkOutput({ ...sample, latencyUs: { ...sample.latencyUs, p99: 'x' } }))
    ).toThrow(/latencyUs.p99/)
    expect(() => parseWrkResult(`${WRK_RESULT_MARK} {"requests":`)).toThrow(/not JSON/)
  })
})

describe('findWrk()', () => {
  it('when WRK_BIN names no executable, finds none; on a PATH without wrk, none', () => {
    expect(findWrk({ WRK_BIN: '/nonexistent/wrk' })).toBeNull()
    expect(findWrk({ PATH: '/nonexistent' })).toBeNull()
  })
})
