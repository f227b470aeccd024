import { waitFor } from '@kit/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { buildTestApp, createLink, openTestDatabase, request, twoInstances } from './helpers.ts'
import type { TestApp } from './helpers.ts'

async function locations(
  app: TestApp['app'],
  code: string,
  times: number
): Promise<(string | number)[]> {
  const responses = await Promise.all(
    Array.from({ length: times }, async () => app.request(`/${code}`))
  )
  return responses.map((res) => res.headers.get('location') ?? res.status)
}

describe('cache coherence, embedded (in-process LRU)', () => {
  const instance = buildTestApp()
  afterAll(instance.close)

  it('when a cached link is edited then deleted, no request sees the old state', async () => {
    const { code } = await createLink(instance.app, { url: 'https://example.com/v1' })
    await locations(instance.app, code, 10)

    await request(instance.app, 'PATCH', `/api/links/${code}`, {
      body: { url: 'https://example.com/v2' },
    })
    const afterEdit = await locations(instance.app, code, 100)
    await request(instance.app, 'DELETE', `/api/links/${code}`)
    const afterDelete = await locations(instance.app, code, 100)

    expect(instance.cache.stats().hits).toBeGreaterThan(0)
    expect(new Set(afterEdit)).toEqual(new Set(['https://example.com/v2']))
    expect(new Set(afterDelete)).toEqual(new Set([404]))
  })
})

describe('cache coherence, two instances sharing Redis and one SQLite file', () => {
  const database = openTestDatabase('coherence')
  // Registered first, so it runs after twoInstances closed both apps (after-hooks run in reverse).
  afterAll(() => database.cleanup())
  const { a, b, redisA, keyPrefix } = twoInstances({ database })

  it('when instance A edits a link that B has cached, B serves the new target on its next request', async () => {
    const { code } = await createLink(a.app, { url: 'https://example.com/old' })
    await locations(b.app, code, 5)
    await waitFor(async () => (await redisA.keys(`${keyPrefix}:*:{${code}}`)).length === 1)
    const hitsBefore = b.cache.stats().hits
    await locations(b.app, code, 5)

    await request(a.app, 'PATCH', `/api/links/${code}`, {
      body: { url: 'https://example.com/new' },
    })
    const fromB = await locations(b.app, code, 100)
    const fromA = await locations(a.app, code, 100)

    expect(b.cache.stats().hits - hitsBefore).toBe(5)
    expect(new Set(fromB)).toEqual(new Set(['https://example.com/new']))
    expect(new Set(fromA)).toEqual(new Set(['https://example.com/new']))
  })

  it('when instance A deletes a link that B has cached, B answers 404 to 100 immediate requests', async () => {
    const { code } = await createLink(a.app, { url: 'https://example.com/doomed' })
    await locations(b.app, code, 5)
    await waitFor(async () => (await redisA.keys(`${keyPrefix}:*:{${code}}`)).length === 1)

    await request(a.app, 'DELETE', `/api/links/${code}`)
    const fromB = await locations(b.app, code, 100)

    expect(new Set(fromB)).toEqual(new Set([404]))
    expect(await redisA.keys(`${keyPrefix}:*:{${code}}`)).toEqual([])
  })

  it('when edits and reads interleave on both instances, every read after an edit sees that edit', async () => {
    const { code } = await createLink(a.app, { url: 'https://example.com/round/0' })
    const stale: string[] = []

    for (let round = 1; round <= 30; round++) {
      const editor = round % 2 ? a : b
      const reader = round % 2 ? b : a
      const reads = locations(reader.app, code, 3)
      await request(editor.app, 'PATCH', `/api/links/${code}`, {
        body: { url: `https://example.com/round/${round}` },
      })
      await reads
      const after = await locations(reader.app, code, 3)
      stale.push(
        ...after.filter((location) => location !== `https://example.com/round/${round}`).map(String)
      )
    }

    expect(stale).toEqual([])
  })
})
