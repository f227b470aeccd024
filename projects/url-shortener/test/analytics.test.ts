import { createLogger, serveApp } from '@kit/http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { USER_AGENTS } from './user-agents.ts'
import { API_KEY, buildTestApp, createLink, request } from './helpers.ts'

const HOUR = 3_600_000
const T0 = Date.parse('2026-03-01T00:00:00Z')

type ErrorBody = {
  code: string
  detail: string
  errors?: { path: string; message: string }[]
}
type Counts = { total: number; humans: number; bots: number }

let clock = T0
const { app, database, close } = buildTestApp({ now: () => clock })
afterAll(close)

/** One redirect at `at`, as a browser would send it. */
async function clickAt(
  code: string,
  at: number,
  userAgent: string,
  referrer?: string
): Promise<void> {
  clock = at
  const res = await app.request(`/${code}`, {
    headers: { 'User-Agent': userAgent, ...(referrer ? { Referer: referrer } : {}) },
  })
  if (res.status !== 302) throw new Error(`redirect answered ${res.status}`)
}

/** A link with 15 clicks over two days: Chrome/Windows from Google at 00:xx, Safari/iOS direct at
 * 02:xx, Firefox/Linux from a forum on day 2 at 05:xx, curl and Googlebot on day 2 at 23:xx. */
async function linkWithClicks(): Promise<string> {
  clock = T0
  const { code } = await createLink(app, { url: `https://example.com/${Math.random()}` })
  for (let i = 0; i < 5; i++)
    await clickAt(
      code,
      T0 + i * 1_000,
      USER_AGENTS.chromeWindows,
      'https://www.google.com/search?q=a'
    )
  for (let i = 0; i < 4; i++) await clickAt(code, T0 + 2 * HOUR + i, USER_AGENTS.safariIos)
  for (let i = 0; i < 3; i++)
    await clickAt(
      code,
      T0 + 29 * HOUR + i,
      USER_AGENTS.firefoxLinux,
      'https://forum.example.net/t/1'
    )
  for (let i = 0; i < 2; i++) await clickAt(code, T0 + 47 * HOUR + i, USER_AGENTS.curl)
  await clickAt(code, T0 + 47 * HOUR + 30_000, USER_AGENTS.googlebot, 'https://www.google.com/')
  clock = T0 + 48 * HOUR
  return code
}

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await request(app, 'GET', path)
  expect(res.headers.get('content-type')).toMatch(
    res.ok ? /^application\/json/ : /^application\/problem\+json/
  )
  return { status: res.status, body: (await res.json()) as T }
}

describe('GET /api/links/:code/stats', () => {
  it('when a link was clicked, answers its totals and first and last click times', async () => {
    const code = await linkWithClicks()

    const { status, body } = await getJson(`/api/links/${code}/stats`)

    expect(status).toBe(200)
    expect(body).toEqual({
      code,
      total: 15,
      humans: 12,
      bots: 3,
      firstClickAt: '2026-03-01T00:00:00.000Z',
      lastClickAt: '2026-03-02T23:00:30.000Z',
    })
  })

  it('when a link was never clicked, answers zeros and null times', async () => {
    const { code } = await createLink(app, { url: 'https://example.com/quiet' })

    const { body } = await getJson(`/api/links/${code}/stats`)

    expect(body).toEqual({
      code,
      total: 0,
      humans: 0,
      bots: 0,
      firstClickAt: null,
      lastClickAt: null,
    })
  })

  it('when the code is unknown, answers the JSON 404', async () => {
    const { status, body } = await getJson<ErrorBody>('/api/links/no-such-code/stats/timeseries')

    expect(status).toBe(404)
    expect(body.code).toBe('not_found')
  })

  it('when buffered clicks cannot be written, answers 503 with Retry-After, then the full count once they can', async () => {
    clock = T0
    const { code } = await createLink(app, { url: 'https://example.com/disk-full' })
    await clickAt(code, T0, USER_AGENTS.chromeWindows)
    database.sqlite.exec(
      "CREATE TRIGGER deny_totals BEFORE INSERT ON click_totals BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )

    const failing = await request(app, 'GET', `/api/links/${code}/stats`)
    database.sqlite.exec('DROP TRIGGER deny_totals')
    const recovered = await getJson<Counts>(`/api/links/${code}/stats`)

    expect(failing.status).toBe(503)
    expect(failing.headers.get('retry-after')).toBe('1')
    expect(((await failing.json()) as ErrorBody).code).toBe('analytics_unavailable')
    expect(recovered.body.total).toBe(1)
  })

  it('when a link has expired or is used up, its stats stay readable; once deleted, 404', async () => {
    clock = T0
    const { code: expiring } = await createLink(app, {
      url: 'https://example.com/campaign',
      expiresInSeconds: 3600,
    })
    const { code: once } = await createLink(app, { url: 'https://example.com/once', maxVisits: 1 })
    await clickAt(expiring, T0 + 1000, USER_AGENTS.chromeWindows)
    await clickAt(expiring, T0 + 2000, USER_AGENTS.safariIos)
    await clickAt(once, T0 + 3000, USER_AGENTS.firefoxLinux)
    clock = T0 + 2 * HOUR

    const redirects = await Promise.all([expiring, once].map(async (c) => app.request(`/${c}`)))
    const afterEnd = await Promise.all(
      [
        `/api/links/${expiring}/stats`,
        `/api/links/${expiring}/stats/timeseries?from=2026-03-01&to=2026-03-02`,
        `/api/links/${once}/stats`,
      ].map((path) => getJson<Counts>(path))
    )
    await request(app, 'DELETE', `/api/links/${expiring}`)
    const afterDelete = await request(app, 'GET', `/api/links/${expiring}/stats`)

    expect(redirects.map((res) => res.status)).toEqual([404, 404])
    expect(afterEnd.map(({ status }) => status)).toEqual([200, 200, 200])
    expect(afterEnd.map(({ body }) => body.total)).toEqual([2, 2, 1])
    expect(afterDelete.status).toBe(404)
  })

  it('when clicks come without a User-Agent or with a blank one, they are counted as bots', async () => {
    clock = T0
    const { code } = await createLink(app, { url: 'https://example.com/scripted' })

    await app.request(`/${code}`)
    await app.request(`/${code}`, { headers: { 'User-Agent': '' } })
    await clickAt(code, T0 + 1000, USER_AGENTS.chromeWindows)
    const { body } = await getJson<Counts>(`/api/links/${code}/stats`)

    expect(body).toMatchObject({ total: 3, humans: 1, bots: 2 })
  })

  it('when the API key is missing, refuses before reading anything', async () => {
    const res = await request(app, 'GET', '/api/links/whatever/stats', { key: false })

    expect(res.status).toBe(401)
  })
})

describe('GET /api/links/:code/stats/timeseries', () => {
  it.each([
    ['1h', 48],
    ['6h', 8],
    ['1d', 2],
    ['15m', 192],
  ])(
    'when the interval is %s over two days, the %i buckets sum to the total',
    async (interval, n) => {
      const code = await linkWithClicks()

      const { status, body } = await getJson<Counts & { buckets: (Counts & { start: string })[] }>(
        `/api/links/${code}/stats/timeseries?from=2026-03-01&to=2026-03-03&interval=${interval}`
      )

      expect(status).toBe(200)
      expect(body.buckets).toHaveLength(n)
      expect(body.buckets.reduce((sum, bucket) => sum + bucket.total, 0)).toBe(15)
      expect(body).toMatchObject({ total: 15, humans: 12, bots: 3 })
    }
  )

  it('when the range is custom, in epoch ms and unaligned, widens it to whole buckets', async () => {
    const code = await linkWithClicks()

    const { body } = await getJson<{
      from: string
      to: string
      buckets: (Counts & { start: string })[]
    }>(
      `/api/links/${code}/stats/timeseries?from=${T0 + 90 * 60_000}&to=${T0 + 3 * HOUR}&interval=1h`
    )

    expect(body.from).toBe('2026-03-01T01:00:00.000Z')
    expect(body.to).toBe('2026-03-01T03:00:00.000Z')
    expect(body.buckets).toEqual([
      { start: '2026-03-01T01:00:00.000Z', total: 0, humans: 0, bots: 0 },
      { start: '2026-03-01T02:00:00.000Z', total: 4, humans: 4, bots: 0 },
    ])
  })

  it('when no range is given, answers the last 24 hours by hour, the current hour included', async () => {
    const code = await linkWithClicks()
    await clickAt(code, T0 + 48 * HOUR, USER_AGENTS.firefoxLinux) // "now"

    const { body } = await getJson<
      Counts & { interval: string; from: string; to: string; buckets: Counts[] }
    >(`/api/links/${code}/stats/timeseries`)

    expect(body).toMatchObject({
      interval: '1h',
      from: '2026-03-02T00:00:00.000Z',
      to: '2026-03-03T01:00:00.000Z',
      total: 7,
    })
    expect(body.buckets).toHaveLength(25)
    expect(body.buckets.at(-1)?.total).toBe(1)
  })

  it.each([
    ['from=yesterday', 'from', /ISO 8601/],
    ['from=2026-13-01', 'from', /ISO 8601/],
    ['to=-5', 'to', /ISO 8601/],
    ['interval=2h', 'interval', /1m|expected/i],
    ['from=2026-03-02&to=2026-03-01', 'to', /after/],
    ['from=2026-03-01&to=2026-03-01', 'to', /after/],
    ['from=2026-03-01&to=2026-03-02&interval=1m', 'interval', /1440 buckets.*at most 1000/],
  ])('when the query is %s, answers 400 naming %s', async (query, field, reason) => {
    const code = await linkWithClicks()

    const { status, body } = await getJson<ErrorBody>(
      `/api/links/${code}/stats/timeseries?${query}`
    )

    expect(status).toBe(400)
    expect(body.code).toBe('validation_failed')
    expect(body.errors).toEqual([{ path: field, message: expect.stringMatching(reason) }])
  })
})

describe('GET /api/links/:code/stats/breakdown/:dimension', () => {
  let code: string
  beforeAll(async () => {
    code = await linkWithClicks()
  })

  it.each([
    [
      'referrer',
      [
        ['(direct)', 6],
        ['www.google.com', 6],
        ['forum.example.net', 3],
      ],
    ],
    [
      'browser',
      [
        ['Chrome', 5],
        ['Mobile Safari', 4],
        ['Firefox', 3],
        ['curl', 2],
        ['Googlebot', 1],
      ],
    ],
    [
      'os',
      [
        ['Windows', 5],
        ['iOS', 4],
        ['(unknown)', 3],
        ['Linux', 3],
      ],
    ],
    [
      'bot',
      [
        ['human', 12],
        ['bot', 3],
      ],
    ],
  ])('when the dimension is %s, lists the values largest first', async (dimension, expected) => {
    const { status, body } = await getJson<{
      values: (Counts & { value: string })[]
      other: Counts
    }>(`/api/links/${code}/stats/breakdown/${dimension}`)

    expect(status).toBe(200)
    expect(body.values.map(({ value, total }) => [value, total])).toEqual(expected)
    expect(body.other.total).toBe(0)
  })

  it('when the range is one day and the limit 1, answers that day with the rest in `other`', async () => {
    const { body } = await getJson<{
      from: string
      to: string
      values: (Counts & { value: string })[]
      other: Counts
    }>(
      `/api/links/${code}/stats/breakdown/browser?from=2026-03-02T10:00:00Z&to=2026-03-02T11:00:00Z&limit=1`
    )

    expect(body).toMatchObject({ from: '2026-03-02T00:00:00.000Z', to: '2026-03-03T00:00:00.000Z' })
    expect(body.values).toEqual([{ value: 'Firefox', total: 3, humans: 3, bots: 0 }])
    expect(body.other).toEqual({ total: 3, humans: 0, bots: 3 })
  })

  it.each([
    ['/breakdown/country', 'dimension'],
    ['/breakdown/browser?limit=0', 'limit'],
    ['/breakdown/browser?limit=many', 'limit'],
    ['/breakdown/os?from=2026-03-02&to=2026-03-01', 'to'],
  ])('when the request is %s, answers 400 naming %s', async (path, field) => {
    const { status, body } = await getJson<ErrorBody>(`/api/links/${code}/stats${path}`)

    expect(status).toBe(400)
    expect(body.errors?.map((issue) => issue.path)).toEqual([field])
  })
})

describe('clicks over a real socket', () => {
  it('when 300 redirects arrive concurrently from several browsers, the stats count 300', async () => {
    clock = T0
    const { code } = await createLink(app, { url: 'https://example.com/concurrent' })
    const server = await serveApp(app, {
      port: 0,
      hostname: '127.0.0.1',
      logger: createLogger({ level: 'silent' }),
      handleSignals: false,
    })
    const agents = Object.values(USER_AGENTS)

    try {
      const statuses = await Promise.all(
        Array.from({ length: 300 }, async (_, i) => {
          const res = await fetch(`${server.url}/${code}`, {
            redirect: 'manual',
            headers: { 'User-Agent': agents[i % agents.length] ?? '' },
          })
          await res.body?.cancel()
          return res.status
        })
      )
      const stats = await fetch(`${server.url}/api/links/${code}/stats`, {
        headers: { 'X-API-Key': API_KEY },
      })
      const browsers = await fetch(`${server.url}/api/links/${code}/stats/breakdown/browser`, {
        headers: { 'X-API-Key': API_KEY },
      })

      expect(statuses.every((status) => status === 302)).toBe(true)
      expect(await stats.json()).toMatchObject({ total: 300, humans: 180, bots: 120 })
      const { values } = (await browsers.json()) as { values: Counts[] }
      expect(values.map((row) => row.total)).toEqual([60, 60, 60, 60, 60])
    } finally {
      await server.shutdown('test done')
    }
  })
})
