import { createRedis } from '@kit/redis'
import { startRedisServer, uniqueName, waitFor } from '@kit/testing'
import type { StartRedisServerOptions } from '@kit/testing'
import type { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { buildTestApp, createLink, openTestDatabase, request } from './helpers.ts'
import type { TestApp, TestDatabase } from './helpers.ts'

const OLD = 'https://example.com/old'
const NEW = 'https://example.com/new'

/**
 * Two instances of the app sharing one SQLite file and one real redis-server, each with its own
 * request-path client, as two replicas behind a load balancer.
 */
async function twoInstancesOn(options: StartRedisServerOptions) {
  const server = await startRedisServer(options)
  const database = openTestDatabase('durability')
  const keyPrefix = uniqueName('durability')
  const clients: Redis[] = []
  const instances: TestApp[] = []
  const start = () => {
    const redis = createRedis(server.url, {
      role: 'request',
      logger: { warn() {}, info() {} },
      redisOptions: { retryStrategy: () => 50 },
    })
    clients.push(redis)
    const instance = buildTestApp({ database, redis, keyPrefix })
    instances.push(instance)
    return instance
  }
  return { server, database, keyPrefix, clients, instances, start }
}

type Setup = Awaited<ReturnType<typeof twoInstancesOn>>
let setup: Setup | undefined
afterEach(async () => {
  if (!setup) return
  const { server, database, clients, instances } = setup
  setup = undefined
  await Promise.all(instances.map((instance) => instance.close()))
  for (const client of clients) client.disconnect()
  await database.cleanup()
  await server.stop()
})

/** Where `instance` sends `code`, `times` times in a row. */
async function targets(instance: TestApp, code: string, times = 50): Promise<Set<string>> {
  const seen = new Set<string>()
  for (let i = 0; i < times; i++) {
    const res = await instance.app.request(`/${code}`)
    seen.add(res.headers.get('location') ?? String(res.status))
  }
  return seen
}

/** Follows `code` on `reader` until a request is served from the cache. */
async function cachedOn(reader: TestApp, code: string): Promise<void> {
  await reader.cache.ready()
  await waitFor(
    async () => {
      const hits = reader.cache.stats().hits
      await reader.app.request(`/${code}`)
      return reader.cache.stats().hits > hits
    },
    { message: 'never served from the cache' }
  )
}

/** The database's target of `code`, read without any cache. */
function storedTarget(database: TestDatabase, code: string): string {
  const row = database.sqlite.prepare('SELECT target FROM links WHERE code = ?').get(code) as {
    target: string
  }
  return row.target
}

describe('PATCH /api/links/:code when Redis stops, freezes or crashes (real redis-server)', () => {
  it('when Redis (AOF) is down during an edit and the editor stops before it returns, the edit is refused with 503 and never half-applied; once Redis is back an edit is served at once', async () => {
    setup = await twoInstancesOn({ appendonly: true })
    const { server, database } = setup
    const a = setup.start()
    const b = setup.start()
    const { code } = await createLink(a.app, { url: OLD })
    await cachedOn(b, code)

    await server.stop()
    const duringOutage = await request(a.app, 'PATCH', `/api/links/${code}`, { body: { url: NEW } })
    await a.close()
    await server.restart()
    await waitFor(() => !b.cache.stats().degraded, { timeoutMs: 10_000, message: 'B never back' })
    const afterRestart = await targets(b, code)
    const storedAfterRestart = storedTarget(database, code)
    const a2 = setup.start()
    await a2.cache.ready()
    const retried = await request(a2.app, 'PATCH', `/api/links/${code}`, { body: { url: NEW } })
    const afterEdit = await targets(b, code)

    // B serves what the database holds: the edit was refused, not half-applied.
    expect(afterRestart).toEqual(new Set([storedAfterRestart]))
    expect(duringOutage.status).toBe(503)
    expect(duringOutage.headers.get('retry-after')).toBe('1')
    expect(await duringOutage.json()).toMatchObject({ code: 'cache_unavailable' })
    expect(storedAfterRestart).toBe(OLD)
    expect(retried.status).toBe(200)
    expect(afterEdit).toEqual(new Set([NEW]))
    expect(storedTarget(database, code)).toBe(NEW)
  })

  it('when Redis is frozen (SIGSTOP) during an edit and the editor stops before it thaws, no acknowledged edit is hidden by the entry', async () => {
    setup = await twoInstancesOn({ appendonly: true })
    const { server, database } = setup
    const a = setup.start()
    const b = setup.start()
    const { code } = await createLink(a.app, { url: OLD })
    await cachedOn(b, code)

    server.pause()
    const whileFrozen = await request(a.app, 'PATCH', `/api/links/${code}`, { body: { url: NEW } })
    await a.close()
    server.resume()
    await waitFor(() => !b.cache.stats().degraded, { timeoutMs: 10_000, message: 'B never back' })
    const afterThaw = await targets(b, code)

    // Whatever the answer, what B serves is what an acknowledged edit left in the database.
    const expected = whileFrozen.status === 200 ? NEW : OLD
    expect(storedTarget(database, code)).toBe(expected)
    expect(afterThaw).toEqual(new Set([expected]))
    expect(whileFrozen.status).toBe(503)
  })

  it('when Redis crashes (kill -9) after an acknowledged edit and replays an older snapshot, the replayed entry is never served', async () => {
    setup = await twoInstancesOn({ appendonly: false })
    const { server, clients } = setup
    const a = setup.start()
    const b = setup.start()
    const { code } = await createLink(a.app, { url: OLD })
    await cachedOn(b, code)
    // The snapshot holds the entry as it was before the edit (RDB, as `save` rules take it).
    await clients[0]!.save()

    const edit = await request(a.app, 'PATCH', `/api/links/${code}`, { body: { url: NEW } })
    await server.kill()
    await server.restart()
    const replayed = await waitFor(
      async () => (await clients[0]!.keys(`${setup!.keyPrefix}:*{${code}}`)).length,
      { timeoutMs: 10_000, message: 'the snapshot was not replayed' }
    )
    await waitFor(() => !b.cache.stats().degraded, { timeoutMs: 10_000, message: 'B never back' })
    const afterCrash = await targets(b, code)
    await cachedOn(b, code)
    const fromNewRun = await targets(b, code)

    expect(edit.status).toBe(200)
    expect(replayed).toBe(1)
    expect(afterCrash).toEqual(new Set([NEW]))
    expect(fromNewRun).toEqual(new Set([NEW]))
  })

  it('when Redis is up, an edit or delete on one instance is what the other serves on its next request', async () => {
    setup = await twoInstancesOn({ appendonly: true })
    const a = setup.start()
    const b = setup.start()
    const { code } = await createLink(a.app, { url: OLD })
    await cachedOn(b, code)

    const edit = await request(a.app, 'PATCH', `/api/links/${code}`, { body: { url: NEW } })
    const afterEdit = await targets(b, code)
    const removed = await request(a.app, 'DELETE', `/api/links/${code}`)
    const afterDelete = await targets(b, code)

    expect([edit.status, removed.status]).toEqual([200, 204])
    expect(afterEdit).toEqual(new Set([NEW]))
    expect(afterDelete).toEqual(new Set(['404']))
  })
})
