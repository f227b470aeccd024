import { connectCluster, startRedisCluster, uniqueName } from '@kit/testing'
import type { RedisCluster } from '@kit/testing'
import { createHash } from 'node:crypto'
import { Redis, type Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisLinkCache } from '../src/link-cache/redis-link-cache.ts'

// The Redis link cache on a real Redis Cluster (three masters), as two instances of the service
// would use it: each with its own Cluster client. Every script takes an entry and its meta key
// (version floor and fences), which share the code's hash tag, so each runs on the one master
// that owns the code. The keys' run is a digest of every master's run_id.

type Entry = { target: string; version: number }

const keyPrefix = uniqueName('link-cache-cluster')
let cluster: RedisCluster
let clientA: Cluster
let clientB: Cluster

/** The request-path options of @kit/redis, for a Cluster: fail fast while a node is away. */
function connect(): Promise<Cluster> {
  return connectCluster(cluster.urls, {
    enableOfflineQueue: false,
    redisOptions: { commandTimeout: 2000 },
  })
}

beforeAll(async () => {
  cluster = await startRedisCluster()
  clientA = await connect()
  clientB = await connect()
  run = await clusterRun()
}, 60_000)

afterAll(async () => {
  clientA?.disconnect()
  clientB?.disconnect()
  await cluster?.stop()
})

/** A source of truth (a Map, as SQLite is in the app) with a load counter. */
function createSource() {
  const rows = new Map<string, Entry>()
  let loads = 0
  return {
    rows,
    load: (code: string) => {
      loads++
      return rows.get(code)
    },
    get loads() {
      return loads
    },
  }
}

/** One cache instance on `client`, in use once it knows the cluster's run. */
async function instance(client: Cluster, source: ReturnType<typeof createSource>) {
  const cache = createRedisLinkCache({
    load: source.load,
    version: (entry: Entry) => entry.version,
    redis: client,
    keyPrefix,
  })
  await cache.ready()
  return cache
}

/** The digest of every master's run_id, as the cache names its keys with it. */
async function clusterRun(): Promise<string> {
  const ids: string[] = []
  for (const master of clientA.nodes('master')) {
    ids.push(/^run_id:(\w+)/m.exec(await master.info('server'))?.[1] ?? '')
  }
  return createHash('sha256').update(ids.sort().join(',')).digest('hex').slice(0, 16)
}
let run = ''
const entryKey = (code: string) => `${keyPrefix}:${run}:{${code}}`
const metaKey = (code: string) => `${entryKey(code)}:meta`

/** Changes `code` in the source through `cache`, as PATCH does. */
function change(
  cache: Awaited<ReturnType<typeof instance>>,
  source: ReturnType<typeof createSource>,
  code: string,
  entry: Entry
) {
  return cache.change(
    code,
    () => {
      source.rows.set(code, entry)
      return entry
    },
    (changed) => changed.version
  )
}

/** Codes whose entries live on three different masters. */
async function codePerMaster(label: string): Promise<string[]> {
  const byMaster = new Map<number, string>()
  for (let i = 0; byMaster.size < 3; i++) {
    const code = `${label}${i}`
    const master = await cluster.masterOf(entryKey(code))
    if (!byMaster.has(master.port)) byMaster.set(master.port, code)
  }
  return [...byMaster.values()]
}

/** Ports of the nodes that hold `key`, asked directly (a node without the slot answers MOVED). */
async function nodesHolding(key: string): Promise<number[]> {
  const holding: number[] = []
  for (const node of cluster.nodes) {
    const direct = new Redis(node.url, { retryStrategy: () => null, maxRetriesPerRequest: 0 })
    direct.on('error', () => {})
    if ((await direct.exists(key).catch(() => 0)) === 1) holding.push(node.port)
    direct.disconnect()
  }
  return holding
}

describe('createRedisLinkCache on a Redis Cluster', () => {
  it('when instance A reads codes on three masters, fills each on its master; instance B then hits without loading', async () => {
    const source = createSource()
    const codes = await codePerMaster('fill')
    for (const code of codes)
      source.rows.set(code, { target: `https://${code}.example/`, version: 1 })
    const a = await instance(clientA, source)
    const b = await instance(clientB, source)

    for (const code of codes) await a.get(code)
    // The fill is not awaited by get(): wait until each entry is in.
    for (const code of codes) {
      await expect.poll(() => clientA.exists(entryKey(code))).toBe(1)
    }
    const fromB = await Promise.all(codes.map((code) => b.get(code)))

    expect(fromB).toEqual(codes.map((code) => ({ target: `https://${code}.example/`, version: 1 })))
    expect(source.loads).toBe(3)
    expect(b.stats()).toMatchObject({ mode: 'redis', hits: 3, misses: 0, errors: 0 })
    const owners = await Promise.all(codes.map((code) => cluster.masterOf(entryKey(code))))
    expect(new Set(owners).size).toBe(3)
    for (const [i, code] of codes.entries()) {
      expect(await nodesHolding(entryKey(code))).toEqual([owners[i]!.port])
    }
  })

  it('when instance A changes codes on three masters, instance B reads the new values at once', async () => {
    const source = createSource()
    const codes = await codePerMaster('edit')
    const a = await instance(clientA, source)
    const b = await instance(clientB, source)
    await a.warm(codes.map((code) => [code, { target: 'https://old.example/', version: 1 }]))

    for (const code of codes)
      await change(a, source, code, { target: 'https://new.example/', version: 2 })
    const fromB = await Promise.all(codes.map((code) => b.get(code)))

    expect(fromB).toEqual(codes.map(() => ({ target: 'https://new.example/', version: 2 })))
    expect(a.stats()).toMatchObject({ errors: 0, degraded: false })
    for (const code of codes) {
      // The floor sits on the entry's master (same hash tag), with a TTL, its fence lifted.
      const [owner] = await nodesHolding(metaKey(code))
      expect(owner).toBe((await cluster.masterOf(entryKey(code))).port)
      expect(await clientB.pttl(metaKey(code))).toBeGreaterThan(0)
      expect(await clientB.hkeys(metaKey(code))).toEqual(['floor'])
    }
  })

  it('when a fill loaded before a change lands after it, the master refuses it', async () => {
    const source = createSource()
    source.rows.set('race', { target: 'https://old.example/', version: 5 })
    const readerClient = await connect()
    const reader = await instance(readerClient, source)
    const writer = await instance(clientA, source)
    // Hold the reader's fill between its load and Redis, as a slow network would.
    const scripted = readerClient as unknown as Record<
      string,
      (...args: unknown[]) => Promise<number>
    >
    const realFill = scripted.linkCacheFill!.bind(readerClient)
    let release: () => Promise<number> = () => Promise.resolve(-1)
    scripted.linkCacheFill = (...args) =>
      new Promise((resolve) => {
        release = () => {
          const landed = realFill(...args)
          resolve(landed)
          return landed
        }
      })

    const served = await reader.get('race')
    await change(writer, source, 'race', { target: 'https://new.example/', version: 6 })
    const stored = await release()
    readerClient.disconnect()

    expect(served).toEqual({ target: 'https://old.example/', version: 5 })
    expect(stored).toBe(0)
    expect(await clientA.get(entryKey('race'))).toBeNull()
    expect(await writer.get('race')).toEqual({ target: 'https://new.example/', version: 6 })
  })
})
