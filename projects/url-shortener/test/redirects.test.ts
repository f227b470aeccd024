import { afterAll, describe, expect, it } from 'vitest'
import { buildTestApp, createLink, request } from './helpers.ts'

describe('GET /:code', () => {
  let clock = Date.parse('2026-03-01T12:00:00Z')
  const { app, clicks, close } = buildTestApp({ now: () => clock })
  afterAll(close)

  it('when the code exists, redirects 302 to the target with Cache-Control: no-store', async () => {
    const { code } = await createLink(app, { url: 'https://example.com/landing?x=1#top' })

    const res = await app.request(`/${code}`)

    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('https://example.com/landing?x=1#top')
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  it("when the short URL carries a query, forwards it after the target's own parameters unless the link opts out", async () => {
    const forwarding = await createLink(app, { url: 'https://shop.example/sale?ref=partner' })
    const closed = await createLink(app, {
      url: 'https://shop.example/sale?ref=partner',
      forwardQuery: false,
    })

    const forwarded = await app.request(`/${forwarding.code}?utm_source=mail&ref=me`)
    const kept = await app.request(`/${closed.code}?utm_source=mail`)
    const below = await app.request(`/${forwarding.code}/more/path`)

    expect(forwarded.headers.get('location')).toBe(
      'https://shop.example/sale?ref=partner&utm_source=mail'
    )
    expect(kept.headers.get('location')).toBe('https://shop.example/sale?ref=partner')
    expect(below.status).toBe(404)
  })

  it('when the link asks for 301 or 308, redirects with a public max-age', async () => {
    const permanent = await createLink(app, { url: 'https://example.com/301', redirectType: 301 })
    const permanent308 = await createLink(app, {
      url: 'https://example.com/308',
      redirectType: 308,
    })
    const temporary307 = await createLink(app, {
      url: 'https://example.com/307',
      redirectType: 307,
    })

    const responses = await Promise.all(
      [permanent, permanent308, temporary307].map(async ({ code }) => app.request(`/${code}`))
    )

    expect(responses.map((res) => res.status)).toEqual([301, 308, 307])
    expect(responses.map((res) => res.headers.get('cache-control'))).toEqual([
      'public, max-age=300',
      'public, max-age=300',
      'no-store',
    ])
  })

  it('when a permanent link expires sooner than max-age, the max-age stops at the expiry', async () => {
    const { code } = await createLink(app, {
      url: 'https://example.com/soon',
      redirectType: 308,
      expiresInSeconds: 42,
    })

    const res = await app.request(`/${code}`)

    expect(res.headers.get('cache-control')).toBe('public, max-age=42')
  })

  it('when the code is unknown, deleted, expired or malformed, answers the same JSON 404', async () => {
    const deleted = await createLink(app, { url: 'https://example.com/deleted' })
    await request(app, 'DELETE', `/api/links/${deleted.code}`)
    const expiring = await createLink(app, {
      url: 'https://example.com/expiring',
      expiresInSeconds: 60,
    })
    const beforeExpiry = await app.request(`/${expiring.code}`)
    clock += 61_000

    const responses = await Promise.all(
      ['never-existed', deleted.code, expiring.code, 'bad.code', 'x'.repeat(65)].map(async (code) =>
        app.request(`/${code}`)
      )
    )
    const bodies = await Promise.all(responses.map((res) => res.text()))

    expect(beforeExpiry.status).toBe(302)
    expect(responses.map((res) => res.status)).toEqual([404, 404, 404, 404, 404])
    expect(new Set(bodies).size).toBe(1)
    expect(JSON.parse(bodies[0] as string)).toMatchObject({
      status: 404,
      code: 'not_found',
      detail: 'No link with this code',
    })
    expect(responses[0]?.headers.get('cache-control')).toBe('no-store')
  })

  it('when 40 visitors follow a link limited to 25 visits at once, exactly 25 are redirected', async () => {
    const { code } = await createLink(app, { url: 'https://example.com/limited', maxVisits: 25 })

    const responses = await Promise.all(
      Array.from({ length: 40 }, async () => app.request(`/${code}`))
    )

    const statuses = responses.map((res) => res.status)
    expect(statuses.filter((status) => status === 302)).toHaveLength(25)
    expect(statuses.filter((status) => status === 404)).toHaveLength(15)
    const link = (await (await request(app, 'GET', `/api/links/${code}`)).json()) as {
      visits: number
    }
    expect(link.visits).toBe(25)
  })

  it('when a limited link is asked with HEAD, it answers the redirect without using a visit or a click', async () => {
    const { code } = await createLink(app, { url: 'https://example.com/head', maxVisits: 1 })
    await clicks?.flush()

    const heads = await Promise.all(
      [1, 2, 3].map(async () => app.request(`/${code}`, { method: 'HEAD' }))
    )
    const pendingAfterHeads = clicks?.pending()
    const visit = await app.request(`/${code}`)
    const second = await app.request(`/${code}`, { method: 'HEAD' })

    expect(heads.map((res) => res.status)).toEqual([302, 302, 302])
    expect(pendingAfterHeads).toBe(0)
    expect(visit.status).toBe(302)
    expect(second.status).toBe(404)
  })

  it('when 200 clicks arrive at once, the stats count 200', async () => {
    const { code } = await createLink(app, { url: 'https://example.com/popular' })
    await clicks?.flush()

    await Promise.all(
      Array.from({ length: 200 }, async (_, i) =>
        app.request(`/${code}`, {
          headers: { Referer: `https://ref${i % 4}.example/`, 'User-Agent': 'Mozilla/5.0' },
        })
      )
    )
    const pendingBeforeStats = clicks?.pending()
    const stats = (await (await request(app, 'GET', `/api/links/${code}/stats`)).json()) as {
      total: number
    }

    expect(pendingBeforeStats).toBe(200)
    expect(stats.total).toBe(200)
  })
})

describe('GET /:code+', () => {
  const { app, close } = buildTestApp()
  afterAll(close)

  it('when the code exists, shows an HTML page with the target and a link to it, without redirecting', async () => {
    const { code } = await createLink(app, { url: 'https://example.com/a?b=1&c=<2>' })

    const res = await app.request(`/${code}+`)
    const page = await res.text()

    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8$/i)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(page).toContain('href="https://example.com/a?b=1&amp;c=%3C2%3E"')
    expect(page).toContain(`<code>https://sho.rt/${code}</code>`)
  })

  it('when the preview is shown, no visit is counted', async () => {
    const { code } = await createLink(app, { url: 'https://example.com/once', maxVisits: 1 })

    await app.request(`/${code}+`)
    await app.request(`/${code}+`)
    const visit = await app.request(`/${code}`)

    expect(visit.status).toBe(302)
  })

  it('when the code is unknown, answers the JSON 404', async () => {
    const res = await app.request('/unknown-code+')

    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({
      status: 404,
      code: 'not_found',
      detail: 'No link with this code',
    })
  })
})
