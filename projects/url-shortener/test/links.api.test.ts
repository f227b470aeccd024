import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { RESERVED_WORDS } from '../src/links/alias.ts'

// One target per reason checkTarget refuses (its own test holds the full corpus): what the API
// must turn into a 400 naming `url` with nothing stored.
const HOSTILE_TARGETS = [
  'javascript:alert(1)',
  'JaVaScRiPt:alert(document.cookie)',
  'data:text/html,<script>alert(1)</script>',
  'ftp://example.com/file',
  'java\tscript:alert(1)',
  'https://example.com/\u202egnp.exe',
  '//evil.example.net/path',
  'http:evil.example.net',
  'https:\\/evil.example.net',
  'https://bank.example@phish.example.net/login',
  'https://sho.rt/abc',
  'https://bit.ly/3abcd',
  'http://localhost:3000/abc',
  'http://0x7f000001/',
  'http://[::ffff:127.0.0.1]/',
  'http://0.0.0.0:3000/',
  `https://example.com/${'a'.repeat(2100)}`,
]

/** Valid targets of every shape: IDN, ports, query, fragment, IPv4 and IPv6 literals. */
const VALID_TARGETS = [
  'https://example.com',
  'HTTPS://EXAMPLE.COM/UPPER/Case',
  'https://example.com:8443/path',
  'https://example.com/search?q=short+links&lang=en',
  'https://example.com/page#section-2',
  'https://münchen.example/straße',
  'https://例え.テスト/パス?キー=値',
  'http://192.0.2.10:8080/status',
  'https://[2001:db8::1]:8443/x?y=z',
  'https://example.com/emoji/🙂',
]
import { createLogger, serveApp } from '@kit/http'
import { API_KEY, buildTestApp, countRows, createLink, request } from './helpers.ts'
import type { TestApp } from './helpers.ts'

type ErrorJson = {
  code: string
  detail: string
  errors?: { path: string; message: string }[]
}

describe('POST /api/links', () => {
  const { app, database, close } = buildTestApp({ env: { DENY_HOSTS: 'bit.ly,evil.example' } })
  afterAll(close)

  it('when the url is valid, responds 201 with the link and its short URL', async () => {
    const res = await request(app, 'POST', '/api/links', {
      body: { url: 'https://example.com/page' },
      key: false,
    })

    expect(res.status).toBe(201)
    const link = (await res.json()) as Record<string, unknown> & { code: string }
    expect(link).toMatchObject({
      target: 'https://example.com/page',
      redirectType: null,
      expiresAt: null,
      maxVisits: null,
      visits: 0,
    })
    expect(link.code).toMatch(/^[0-9A-Za-z]{9}$/)
    expect(link.shortUrl).toBe(`https://sho.rt/${link.code}`)
    expect(res.headers.get('location')).toBe(`/api/links/${link.code}`)
  })

  it('when the target is hostile, responds 400 naming url for every one and stores nothing', async () => {
    const before = countRows(database)

    const responses = await Promise.all(
      HOSTILE_TARGETS.map(async (url) => {
        const res = await request(app, 'POST', '/api/links', { body: { url }, key: false })
        return { url, status: res.status, body: (await res.json()) as ErrorJson }
      })
    )

    const wrong = responses.filter(
      ({ status, body }) =>
        status !== 400 ||
        body.code !== 'validation_failed' ||
        !body.errors?.some((issue) => issue.path === 'url')
    )
    expect(wrong).toEqual([])
    expect(countRows(database)).toBe(before)
  })

  it('when the url is not a string or is missing, responds 400 naming url', async () => {
    for (const body of [{}, { url: 42 }, { url: null }, { url: ['https://example.com'] }]) {
      const res = await request(app, 'POST', '/api/links', { body, key: false })

      expect(res.status).toBe(400)
      expect(((await res.json()) as ErrorJson).errors?.[0]?.path).toBe('url')
    }
  })

  it('when given valid http(s) URLs (IDN, ports, query, fragment, IP literals), accepts them all', async () => {
    const statuses = await Promise.all(
      VALID_TARGETS.map(
        async (url) => (await request(app, 'POST', '/api/links', { body: { url } })).status
      )
    )

    expect(statuses.filter((status) => status !== 201)).toEqual([])
  })

  it('when any accepted link is followed, Location equals the stored target and re-parses as http(s)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.webUrl({ withQueryParameters: true, withFragments: true }),
        async (url) => {
          const created = await request(app, 'POST', '/api/links', { body: { url } })
          expect(created.status).toBe(201)
          const { code, target } = (await created.json()) as { code: string; target: string }

          const redirect = await app.request(`/${code}`)

          expect(['http:', 'https:']).toContain(new URL(target).protocol)
          expect(redirect.status).toBe(302)
          expect(redirect.headers.get('location')).toBe(target)
        }
      ),
      { numRuns: 1000 }
    )
  })

  it('when a reserved word is asked as alias in any case, responds 400 naming alias', async () => {
    const forms = [...RESERVED_WORDS]
      .filter((word) => word.length >= 3)
      .flatMap((word) => [word, word.toUpperCase(), word[0]?.toUpperCase() + word.slice(1)])

    const statuses = await Promise.all(
      forms.map(async (alias) => {
        const res = await request(app, 'POST', '/api/links', {
          body: { url: 'https://example.com', alias },
        })
        return {
          alias,
          status: res.status,
          path: ((await res.json()) as ErrorJson).errors?.[0]?.path,
        }
      })
    )

    expect(statuses.filter(({ status, path }) => status !== 400 || path !== 'alias')).toEqual([])
  })

  it('when the alias does not match ^[A-Za-z0-9_-]{3,64}$, responds 400 naming alias', async () => {
    for (const alias of ['ab', 'has space', 'dot.ted', 'a'.repeat(65), 'emoji🙂']) {
      const res = await request(app, 'POST', '/api/links', {
        body: { url: 'https://example.com', alias },
      })

      expect(res.status).toBe(400)
      expect(((await res.json()) as ErrorJson).errors?.[0]?.path).toBe('alias')
    }
  })

  it('when 50 clients create the same alias at once, exactly one gets 201 and 49 get 409', async () => {
    const body = { url: 'https://example.com/race', alias: 'race-for-it' }

    const responses = await Promise.all(
      Array.from({ length: 50 }, () => request(app, 'POST', '/api/links', { body }))
    )

    const statuses = responses.map((res) => res.status)
    expect(statuses.filter((status) => status === 201)).toHaveLength(1)
    expect(statuses.filter((status) => status === 409)).toHaveLength(49)
    const conflict = (await responses.find((res) => res.status === 409)?.json()) as ErrorJson
    expect(conflict).toMatchObject({ code: 'alias_taken', errors: [{ path: 'alias' }] })
  })

  it('when an alias differs only in case, it is another code', async () => {
    await createLink(app, { url: 'https://example.com/lower', alias: 'casecheck' })

    const upper = await request(app, 'POST', '/api/links', {
      body: { url: 'https://example.com/upper', alias: 'CaseCheck' },
    })

    expect(upper.status).toBe(201)
  })

  it('when reuse is asked for a URL the caller already shortened, responds 200 with that link', async () => {
    const first = await createLink(app, { url: 'https://example.com/reused' })

    const again = await request(app, 'POST', '/api/links', {
      body: { url: 'https://example.com/reused', reuse: true },
    })
    const without = await request(app, 'POST', '/api/links', {
      body: { url: 'https://example.com/reused' },
    })

    expect(again.status).toBe(200)
    expect(((await again.json()) as { code: string }).code).toBe(first.code)
    expect(without.status).toBe(201)
  })

  it('when reuse is asked for a URL someone else shortened, creates a new link and reveals nothing of theirs', async () => {
    const url = 'https://example.com/campaign-2026'
    const keyAlias = await request(app, 'POST', '/api/links', {
      body: { url, alias: 'key-holder-alias' },
    })
    const keyPlain = await createLink(app, { url })
    const asAnonymous = (clientIp: string) =>
      request(app, 'POST', '/api/links', { body: { url, reuse: true }, key: false, clientIp })

    const first = await asAnonymous('203.0.113.5')
    const again = await asAnonymous('203.0.113.5')
    const other = await asAnonymous('198.51.100.7')
    const keyAgain = await request(app, 'POST', '/api/links', { body: { url, reuse: true } })

    const code = async (res: Response) => ((await res.json()) as { code: string }).code
    const [firstCode, againCode, otherCode, keyCode] = await Promise.all(
      [first, again, other, keyAgain].map(code)
    )
    expect(keyAlias.status).toBe(201)
    expect([first.status, again.status, other.status, keyAgain.status]).toEqual([
      201, 200, 201, 200,
    ])
    expect(againCode).toBe(firstCode)
    expect(new Set([firstCode, otherCode, keyPlain.code, 'key-holder-alias']).size).toBe(4)
    expect(keyCode).toBe(keyPlain.code)
  })

  it('when reuse is combined with an alias or an expiry, responds 400 naming reuse', async () => {
    const res = await request(app, 'POST', '/api/links', {
      body: { url: 'https://example.com', reuse: true, maxVisits: 3 },
    })

    expect(res.status).toBe(400)
    expect(((await res.json()) as ErrorJson).errors?.[0]?.path).toBe('reuse')
  })

  it('when the expiry is in the past, both or malformed, responds 400 naming the field', async () => {
    const cases = [
      [{ expiresAt: '2000-01-01T00:00:00Z' }, 'expiresAt'],
      [{ expiresAt: 'tomorrow' }, 'expiresAt'],
      [{ expiresAt: '2999-01-01T00:00:00Z', expiresInSeconds: 60 }, 'expiresInSeconds'],
      [{ expiresInSeconds: 0 }, 'expiresInSeconds'],
      [{ maxVisits: 0 }, 'maxVisits'],
      [{ maxVisits: 1.5 }, 'maxVisits'],
      [{ redirectType: 303 }, 'redirectType'],
      [{ colour: 'blue' }, 'colour'],
    ] as const

    for (const [extra, path] of cases) {
      const res = await request(app, 'POST', '/api/links', {
        body: { url: 'https://example.com', ...extra },
      })

      expect(res.status, JSON.stringify(extra)).toBe(400)
      const issues = ((await res.json()) as ErrorJson).errors ?? []
      expect(
        issues.map((issue) => issue.path),
        JSON.stringify(extra)
      ).toContain(path)
    }
  })

  it('when the body is not JSON, responds 400 malformed_json', async () => {
    const res = await request(app, 'POST', '/api/links', { body: '{"url": ', key: false })

    expect(res.status).toBe(400)
    expect(((await res.json()) as ErrorJson).code).toBe('malformed_json')
  })
})

describe('GET /api/links', () => {
  const { app, close } = buildTestApp()
  afterAll(close)

  it('when links span several pages, the cursor walks them all once, newest first', async () => {
    const created = []
    for (let i = 0; i < 7; i++)
      created.push((await createLink(app, { url: `https://example.com/${i}` })).code)

    const seen: string[] = []
    let cursor: string | null = null
    do {
      const res = await request(
        app,
        'GET',
        `/api/links?limit=3${cursor ? `&cursor=${cursor}` : ''}`
      )
      const page = (await res.json()) as { links: { code: string }[]; nextCursor: string | null }
      seen.push(...page.links.map((link) => link.code))
      cursor = page.nextCursor
    } while (cursor)

    expect(seen).toEqual([...created].reverse())
  })

  it('when the limit or cursor is invalid, responds 400 naming it', async () => {
    for (const [query, path] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['cursor=abc', 'cursor'],
    ]) {
      const res = await request(app, 'GET', `/api/links?${query}`)

      expect(res.status).toBe(400)
      expect(((await res.json()) as ErrorJson).errors?.[0]?.path).toBe(path)
    }
  })
})

describe('GET, PATCH, DELETE /api/links/:code', () => {
  const { app, close } = buildTestApp()
  afterAll(close)

  it('when a link is fetched, edited and deleted, each step shows in the API and the redirect', async () => {
    const { code } = await createLink(app, { url: 'https://example.com/before' })

    const fetched = await request(app, 'GET', `/api/links/${code}`)
    const patched = await request(app, 'PATCH', `/api/links/${code}`, {
      body: { url: 'https://example.com/after', redirectType: 307, expiresInSeconds: 3600 },
    })
    const redirectAfterPatch = await app.request(`/${code}`)
    const deleted = await request(app, 'DELETE', `/api/links/${code}`)
    const fetchedAfterDelete = await request(app, 'GET', `/api/links/${code}`)
    const redirectAfterDelete = await app.request(`/${code}`)

    expect(fetched.status).toBe(200)
    expect(patched.status).toBe(200)
    expect(await patched.json()).toMatchObject({
      target: 'https://example.com/after',
      redirectType: 307,
    })
    expect(redirectAfterPatch.status).toBe(307)
    expect(redirectAfterPatch.headers.get('location')).toBe('https://example.com/after')
    expect(deleted.status).toBe(204)
    expect(fetchedAfterDelete.status).toBe(404)
    expect(redirectAfterDelete.status).toBe(404)
  })

  it('when a deleted code is asked again as an alias, it stays taken', async () => {
    await createLink(app, { url: 'https://example.com/x', alias: 'gone-for-good' })
    await request(app, 'DELETE', '/api/links/gone-for-good')

    const res = await request(app, 'POST', '/api/links', {
      body: { url: 'https://evil.example.net', alias: 'gone-for-good' },
    })

    expect(res.status).toBe(409)
  })

  it('when a patch is empty or points at a hostile URL, responds 400 and changes nothing', async () => {
    const { code } = await createLink(app, { url: 'https://example.com/stay' })

    const empty = await request(app, 'PATCH', `/api/links/${code}`, { body: {} })
    const hostile = await request(app, 'PATCH', `/api/links/${code}`, {
      body: { url: 'javascript:alert(1)' },
    })
    const after = (await (await request(app, 'GET', `/api/links/${code}`)).json()) as {
      target: string
    }

    expect(empty.status).toBe(400)
    expect(hostile.status).toBe(400)
    expect(((await hostile.json()) as ErrorJson).errors?.[0]?.path).toBe('url')
    expect(after.target).toBe('https://example.com/stay')
  })

  it('when the code does not exist, GET, PATCH and DELETE respond 404', async () => {
    const responses = [
      await request(app, 'GET', '/api/links/nope-nope'),
      await request(app, 'PATCH', '/api/links/nope-nope', { body: { redirectType: 301 } }),
      await request(app, 'DELETE', '/api/links/nope-nope'),
    ]

    expect(responses.map((res) => res.status)).toEqual([404, 404, 404])
  })
})

describe('POST /api/links/bulk', () => {
  const { app, database, close } = buildTestApp()
  afterAll(close)

  /** Five rows: valid, invalid, an alias, the same alias again, valid with a limit. */
  const rowsWith = (alias: string) => [
    { url: 'https://example.com/1' },
    { url: 'ftp://example.com/2' },
    { url: 'https://example.com/3', alias },
    { url: 'https://example.com/4', alias },
    { url: 'https://example.com/5', maxVisits: 2 },
  ]

  it('when dryRun is set, reports what would happen and writes nothing', async () => {
    const before = countRows(database)

    const res = await request(app, 'POST', '/api/links/bulk', {
      body: { links: rowsWith('bulk-dry-run'), dryRun: true },
    })

    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      dryRun: true,
      created: 3,
      invalid: 1,
      conflict: 1,
      results: [
        { index: 0, status: 'created' },
        {
          index: 1,
          status: 'invalid',
          error: { code: 'validation_failed', errors: [{ path: 'url' }] },
        },
        { index: 2, status: 'created' },
        { index: 3, status: 'conflict', error: { code: 'alias_taken' } },
        { index: 4, status: 'created' },
      ],
    })
    expect(countRows(database)).toBe(before)
  })

  it('when run for real, creates the valid rows and reports each one', async () => {
    const before = countRows(database)

    const res = await request(app, 'POST', '/api/links/bulk', {
      body: { links: rowsWith('bulk-for-real') },
    })

    const body = (await res.json()) as { results: { status: string; link?: { code: string } }[] }
    expect(body.results.map((row) => row.status)).toEqual([
      'created',
      'invalid',
      'created',
      'conflict',
      'created',
    ])
    expect(body.results[2]?.link?.code).toBe('bulk-for-real')
    expect(countRows(database)).toBe(before + 3)
  })

  it('when more than 100 links or none are sent, responds 400 naming links', async () => {
    for (const links of [[], Array.from({ length: 101 }, () => ({ url: 'https://example.com' }))]) {
      const res = await request(app, 'POST', '/api/links/bulk', { body: { links } })

      expect(res.status).toBe(400)
      expect(((await res.json()) as ErrorJson).errors?.[0]?.path).toBe('links')
    }
  })
})

describe('GET /api/links/export.csv, POST /api/links/import', () => {
  const importCsv = (app: TestApp['app'], csv: string, query = '') =>
    request(app, 'POST', `/api/links/import${query}`, {
      body: csv,
      headers: { 'Content-Type': 'text/csv' },
    })

  it('when an export is imported elsewhere, the second export is identical, expired and used-up links included', async () => {
    let clock = Date.parse('2026-03-01T12:00:00Z')
    const source = buildTestApp({ now: () => clock })
    const destination = buildTestApp()
    const { code: plain } = await createLink(source.app, { url: 'https://example.com/a' })
    await createLink(source.app, {
      url: 'https://example.com/b,"quoted"',
      alias: 'csv-alias',
      redirectType: 308,
    })
    const { code: once } = await createLink(source.app, {
      url: 'https://example.com/once',
      maxVisits: 1,
    })
    await createLink(source.app, { url: 'https://example.com/soon', expiresInSeconds: 60 })
    await source.app.request(`/${once}`)
    clock += 120_000

    const exported = await request(source.app, 'GET', '/api/links/export.csv')
    const csv = await exported.text()
    const imported = await importCsv(destination.app, csv)
    const reexported = await (await request(destination.app, 'GET', '/api/links/export.csv')).text()
    const redirect = await destination.app.request(`/${plain}`)
    await source.close()
    await destination.close()

    expect(exported.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(csv.split('\n')).toHaveLength(6)
    expect(csv).toContain(',1,1,')
    expect(await imported.json()).toMatchObject({ rows: 4, created: 4, invalid: 0, conflict: 0 })
    expect(reexported).toBe(csv)
    expect(redirect.headers.get('location')).toBe('https://example.com/a')
  })

  it('when a 100,000-link export (10 MB) is imported over a socket, every link comes back as it was', async () => {
    const destination = buildTestApp()
    const server = await serveApp(destination.app, {
      port: 0,
      hostname: '127.0.0.1',
      logger: createLogger({ level: 'silent' }),
      handleSignals: false,
    })
    // An export as GET /api/links/export.csv writes it: one link per row, oldest first, a mix
    // of plain, permanent, expiring and visit-limited (some used up) links.
    const created = Date.parse('2025-06-01T00:00:00Z')
    const iso = (ms: number) => new Date(ms).toISOString()
    const rows = Array.from({ length: 100_000 }, (_, i) => {
      const limited = i % 11 === 0
      return [
        `k${i.toString(36).padStart(8, '0')}`,
        `https://shop.example.com/products/${i}?utm_source=newsletter&utm_campaign=spring-${i % 97}`,
        i % 10 === 0 ? '301' : '',
        i % 7 === 0 ? iso(created + i * 60_000) : '',
        limited ? '5' : '',
        limited ? String(i % 6) : '0',
        iso(created + i),
        String(i % 3 !== 0),
        String(i % 5 === 0),
      ].join(',')
    })
    const csv = `code,url,redirect_type,expires_at,max_visits,visits,created_at,forward_query,forward_path\n${rows.join('\n')}\n`

    const res = await fetch(`${server.url}/api/links/import`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/csv', 'X-API-Key': API_KEY },
      body: csv,
    })
    const outcome = (await res.json()) as Record<string, unknown>
    const exported = await (await request(destination.app, 'GET', '/api/links/export.csv')).text()
    await server.shutdown('test done')
    await destination.close()

    expect(Buffer.byteLength(csv)).toBeGreaterThan(10_000_000)
    expect(res.status).toBe(200)
    expect(outcome).toMatchObject({ rows: 100_000, created: 100_000, invalid: 0, conflict: 0 })
    expect(exported).toBe(csv)
  }, 120_000)

  it('when the body is over IMPORT_MAX_BYTES, with or without Content-Length, responds 413 and writes nothing', async () => {
    const { app, database, close } = buildTestApp({ env: { IMPORT_MAX_BYTES: '4096' } })
    const rows = Array.from({ length: 200 }, (_, i) => `https://example.com/${i}`)
    const csv = `url\n${rows.join('\n')}\n`
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const row of rows) controller.enqueue(new TextEncoder().encode(`${row}\n`))
        controller.close()
      },
    })

    const declared = await importCsv(app, csv)
    const streamed = await app.request('/api/links/import', {
      method: 'POST',
      headers: { 'Content-Type': 'text/csv', 'X-API-Key': API_KEY },
      body: chunked,
      duplex: 'half',
    })
    const within = await importCsv(app, `url\n${rows.slice(0, 10).join('\n')}\n`)
    const rowsAfter = countRows(database)
    await close()

    expect(Buffer.byteLength(csv)).toBeGreaterThan(4096)
    expect([declared.status, streamed.status, within.status]).toEqual([413, 413, 200])
    expect(await declared.json()).toMatchObject({ code: 'payload_too_large' })
    expect(rowsAfter).toBe(10)
  })

  it('when the CSV has bad rows, reports them and imports the rest', async () => {
    const { app, close } = buildTestApp()
    const csv =
      'code,url\nfine-one,https://example.com/ok\n,javascript:alert(1)\nfine-one,https://example.com/dup\n'

    const res = await importCsv(app, csv)
    await close()

    expect(await res.json()).toMatchObject({
      rows: 3,
      created: 1,
      invalid: 1,
      conflict: 1,
      problems: [
        { index: 1, status: 'invalid', error: { errors: [{ path: 'url' }] } },
        { index: 2, status: 'conflict', error: { code: 'alias_taken' } },
      ],
      problemsOmitted: 0,
    })
  })

  it('when dryRun=true, reports what would happen and writes nothing; another value is a 400', async () => {
    const { app, database, close } = buildTestApp()
    const before = countRows(database)

    const dry = await importCsv(
      app,
      'code,url\nx-dry-1,https://example.com/\nx-dry-1,https://example.com/\n',
      '?dryRun=true'
    )
    const wrong = await importCsv(app, 'url\nhttps://example.com/\n', '?dryRun=1')
    const rowsAfter = countRows(database)
    await close()

    expect(await dry.json()).toMatchObject({ dryRun: true, rows: 2, created: 1, conflict: 1 })
    expect(wrong.status).toBe(400)
    expect(((await wrong.json()) as ErrorJson).errors?.[0]?.path).toBe('dryRun')
    expect(rowsAfter).toBe(before)
  })

  it('when the body is not CSV or is broken near its end, responds 415 or 400 and writes nothing', async () => {
    const { app, database, close } = buildTestApp()
    const before = countRows(database)
    const rows = Array.from({ length: 1200 }, (_, i) => `https://example.com/${i}`).join('\n')

    const wrongType = await request(app, 'POST', '/api/links/import', { body: { url: 'x' } })
    const noUrl = await importCsv(app, 'code,target\nabc,https://example.com')
    const brokenAtEnd = await importCsv(app, `url\n${rows}\n"https://example.com/unclosed\n`)
    const rowsAfter = countRows(database)
    await close()

    expect(wrongType.status).toBe(415)
    expect([noUrl.status, brokenAtEnd.status]).toEqual([400, 400])
    expect(((await brokenAtEnd.json()) as ErrorJson).code).toBe('malformed_csv')
    expect(rowsAfter).toBe(before)
  })
})

describe('GET /api/links/:code/qr.svg|qr.png', () => {
  const { app, close } = buildTestApp()
  afterAll(close)

  it('when asked for the QR code of a link, answers SVG and PNG images of its short URL', async () => {
    const { code } = await createLink(app, { url: 'https://example.com/qr' })

    const svg = await app.request(`/api/links/${code}/qr.svg`)
    const png = await app.request(`/api/links/${code}/qr.png`)

    expect(svg.status).toBe(200)
    expect(svg.headers.get('content-type')).toBe('image/svg+xml')
    expect(await svg.text()).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    expect(png.status).toBe(200)
    expect(png.headers.get('content-type')).toBe('image/png')
    const bytes = new Uint8Array(await png.arrayBuffer())
    expect([...bytes.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  })

  it('when the code is unknown, responds 404', async () => {
    expect((await app.request('/api/links/unknown-code/qr.png')).status).toBe(404)
  })
})

describe('strict input', () => {
  it('when expiresAt is over ten years ahead, responds 400 naming it, as expiresInSeconds would', async () => {
    const { app, database, close } = buildTestApp()
    const before = countRows(database)
    const inYears = (years: number) =>
      new Date(Date.now() + years * 365.25 * 86_400_000).toISOString()

    const tooFar = await request(app, 'POST', '/api/links', {
      body: { url: 'https://example.com/forever', expiresAt: inYears(11) },
    })
    const tooFarInSeconds = await request(app, 'POST', '/api/links', {
      body: { url: 'https://example.com/forever', expiresInSeconds: 11 * 366 * 86_400 },
    })
    const { code } = await createLink(app, {
      url: 'https://example.com/nine',
      expiresAt: inYears(9),
    })
    const patched = await request(app, 'PATCH', `/api/links/${code}`, {
      body: { expiresAt: inYears(11) },
    })
    const rows = countRows(database)
    await close()

    expect([tooFar.status, tooFarInSeconds.status, patched.status]).toEqual([400, 400, 400])
    expect(((await tooFar.json()) as ErrorJson).errors?.map((e) => e.path)).toEqual(['expiresAt'])
    expect(((await patched.json()) as ErrorJson).errors?.map((e) => e.path)).toEqual(['expiresAt'])
    expect(rows).toBe(before + 1)
  })

  it('when a flag is given in an undocumented form, responds 400 naming it and writes nothing', async () => {
    const { app, database, close } = buildTestApp()
    const before = countRows(database)

    const responses = [
      await request(app, 'POST', '/api/links/bulk', {
        body: { links: [{ url: 'https://example.com/' }], dryRun: 'true' },
      }),
      await request(app, 'POST', '/api/links/bulk', {
        body: { links: [{ url: 'https://example.com/' }], dryRun: 1 },
      }),
      await request(app, 'POST', '/api/links', {
        body: { url: 'https://example.com/', reuse: 'yes' },
      }),
      await request(app, 'POST', '/api/links/import?dryRun=1', {
        body: 'url\nhttps://example.com/\n',
        headers: { 'Content-Type': 'text/csv' },
      }),
    ]
    const paths = await Promise.all(
      responses.map(async (res) => ((await res.json()) as ErrorJson).errors?.[0]?.path)
    )
    const rows = countRows(database)
    await close()

    expect(responses.map((res) => res.status)).toEqual([400, 400, 400, 400])
    expect(paths).toEqual(['dryRun', 'dryRun', 'reuse', 'dryRun'])
    expect(rows).toBe(before)
  })

  it('when a route is given a query parameter it does not take, responds 400 naming it', async () => {
    const { app, close } = buildTestApp()
    const { code } = await createLink(app, { url: 'https://example.com/strict' })

    const paths = [
      `/api/links/${code}?verbose=1`,
      `/api/links/${code}/stats?from=2026-01-01`,
      `/api/links/${code}/stats/timeseries?interval=1h&tz=UTC`,
      `/api/links/${code}/stats/breakdown/os?limit=5&sort=asc`,
      `/api/links/export.csv?all=true`,
      `/api/links/${code}/qr.svg?size=9`,
    ]
    const responses = await Promise.all(paths.map((path) => request(app, 'GET', path)))
    const named = await Promise.all(
      responses.map(async (res) => ((await res.json()) as ErrorJson).errors?.map((e) => e.path))
    )
    await close()

    expect(responses.map((res) => res.status)).toEqual(paths.map(() => 400))
    expect(named).toEqual([['verbose'], ['from'], ['tz'], ['sort'], ['all'], ['size']])
  })

  it('when JSON is sent without a JSON content type, responds 415 and writes nothing', async () => {
    const { app, database, close } = buildTestApp()
    const before = countRows(database)
    const { code } = await createLink(app, { url: 'https://example.com/typed' })
    const body = JSON.stringify({ url: 'https://example.com/untyped' })

    const responses = [
      await request(app, 'POST', '/api/links', { body, headers: { 'Content-Type': 'text/plain' } }),
      await app.request('/api/links', { method: 'POST', body, headers: { 'X-API-Key': API_KEY } }),
      await request(app, 'POST', '/api/links/bulk', {
        body: JSON.stringify({ links: [{ url: 'https://example.com/' }] }),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      }),
      await request(app, 'PATCH', `/api/links/${code}`, {
        body,
        headers: { 'Content-Type': 'text/plain' },
      }),
    ]
    const codes = await Promise.all(
      responses.map(async (res) => ((await res.json()) as ErrorJson).code)
    )
    const rows = countRows(database)
    await close()

    expect(responses.map((res) => res.status)).toEqual([415, 415, 415, 415])
    expect(new Set(codes)).toEqual(new Set(['unsupported_media_type']))
    expect(rows).toBe(before + 1)
  })
})
