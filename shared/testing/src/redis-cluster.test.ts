import { existsSync } from 'node:fs'
import { Redis, type Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connectCluster,
  parseClusterNodes,
  startRedisCluster,
  type RedisCluster,
  type RedisClusterNode,
} from './redis-cluster.ts'
import { uniqueName } from './unique-name.ts'
import { waitFor } from './wait.ts'

const START_MS = 60_000
const FAILOVER_MS = 60_000

/** A plain client on one node that never retries: it sees that node exactly as it is. */
function connectNode(node: RedisClusterNode): Redis {
  const client = new Redis(node.url, { retryStrategy: () => null, maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  return client
}

async function clusterInfo(node: RedisClusterNode): Promise<string> {
  const client = connectNode(node)
  try {
    return String(await client.call('CLUSTER', 'INFO'))
  } finally {
    client.disconnect()
  }
}

/** Keys of the form `<prefix>:{<tag>}:k`, one per master, so a test touches every master. */
async function oneKeyPerMaster(cluster: RedisCluster, prefix: string): Promise<string[]> {
  const byMaster = new Map<number, string>()
  for (let tag = 0; byMaster.size < 3; tag++) {
    const key = `${prefix}:{${tag}}:k`
    const master = await cluster.masterOf(key)
    if (!byMaster.has(master.port)) byMaster.set(master.port, key)
  }
  return [...byMaster.values()]
}

describe('startRedisCluster()', () => {
  let cluster: RedisCluster
  let client: Cluster
  const prefix = uniqueName('cluster')

  beforeAll(async () => {
    cluster = await startRedisCluster()
    client = await connectCluster(cluster.urls)
  }, START_MS)
  afterAll(async () => {
    client?.disconnect()
    await cluster?.stop()
  })

  it('when started, three masters serve all 16384 slots and every node says cluster_state:ok', async () => {
    const masters = await cluster.masters()
    const infos = await Promise.all(cluster.nodes.map(clusterInfo))

    const slots = masters.flatMap(({ slots }) => slots).sort(([a], [b]) => a - b)
    const served = slots.reduce((sum, [low, high]) => sum + high - low + 1, 0)
    expect(masters).toHaveLength(3)
    expect(slots[0]?.[0]).toBe(0)
    expect(slots.at(-1)?.[1]).toBe(16383)
    expect(served).toBe(16384)
    for (const info of infos) expect(info).toContain('cluster_state:ok')
    expect(cluster.urls).toBe(cluster.nodes.map((n) => `redis://127.0.0.1:${n.port}`).join(','))
    expect(new Set(cluster.nodes.map((n) => n.busPort)).size).toBe(3)
  })

  it('when a keyed write goes through an ioredis Cluster, it lands on the master of its slot only', async () => {
    const keys = await oneKeyPerMaster(cluster, prefix)

    await Promise.all(keys.map((key) => client.set(key, key)))

    for (const key of keys) {
      const owner = await cluster.masterOf(key)
      for (const node of cluster.nodes) {
        const direct = connectNode(node)
        const read = direct.get(key)
        if (node === owner) await expect(read).resolves.toBe(key)
        else await expect(read).rejects.toThrow(/MOVED/)
        direct.disconnect()
      }
    }
    expect(new Set(await Promise.all(keys.map((k) => cluster.masterOf(k)))).size).toBe(3)
  })

  it('when keys share a hash tag, a multi-key command on them runs on one node', async () => {
    const tag = `{${prefix}:user}`

    await client.mset(`${tag}:name`, 'Ada', `${tag}:lang`, 'en')

    expect(await client.mget(`${tag}:name`, `${tag}:lang`)).toEqual(['Ada', 'en'])
    await expect(client.mset(`${prefix}:a`, '1', `${prefix}:b`, '2')).rejects.toThrow(/CROSSSLOT/)
  })

  it(
    'when a master is stopped the cluster is down; restarted on the same port, it rejoins with its data',
    async () => {
      const [key] = await oneKeyPerMaster(cluster, `${prefix}-restart`)
      await client.set(key!, 'kept')
      const master = await cluster.masterOf(key!)
      const other = cluster.nodes.find((node) => node !== master)!
      const { port, id } = master

      await master.stop()
      const wasRunning = master.running
      await waitFor(async () => (await clusterInfo(other)).includes('cluster_state:fail'), {
        timeoutMs: 20_000,
        message: 'the cluster never noticed the stopped master',
      })
      await master.restart()
      await cluster.waitUntilHealthy()

      expect(wasRunning).toBe(false)
      expect(master.port).toBe(port)
      expect((await cluster.masterOf(key!)).id).toBe(id)
      expect(await client.get(key!)).toBe('kept')
    },
    FAILOVER_MS
  )

  it(
    'when stopped, no node answers and the temp dirs are gone',
    async () => {
      const own = await startRedisCluster()
      const dirs = own.nodes.map((node) => node.dir)

      await own.stop()

      expect(own.nodes.map((node) => node.running)).toEqual([false, false, false])
      expect(dirs.filter(existsSync)).toEqual([])
      const refused = connectNode(own.nodes[0]!)
      await expect(refused.ping()).rejects.toThrow()
      refused.disconnect()
    },
    START_MS
  )
})

describe('startRedisCluster({ replicasPerMaster: 1 })', () => {
  let cluster: RedisCluster
  let client: Cluster
  const prefix = uniqueName('cluster-failover')

  beforeAll(async () => {
    cluster = await startRedisCluster({ replicasPerMaster: 1 })
    client = await connectCluster(cluster.urls)
    client.on('error', () => {})
  }, START_MS)
  afterAll(async () => {
    client?.disconnect()
    await cluster?.stop()
  })

  it('when started, six nodes: three masters with one synced replica each', async () => {
    const masters = await cluster.masters()

    expect(cluster.nodes).toHaveLength(6)
    expect(masters).toHaveLength(3)
    for (const { replicas } of masters) expect(replicas).toHaveLength(1)
    const all = masters.flatMap(({ node, replicas }) => [node, ...replicas])
    expect(new Set(all)).toEqual(new Set(cluster.nodes))
  })

  it(
    'when a master is killed with -9, its replica takes over with every replicated key; restarted, the old master rejoins as its replica',
    async () => {
      const keys = Array.from({ length: 200 }, (_, i) => `${prefix}:{${i}}`)
      await Promise.all(keys.map((key) => client.set(key, key)))
      const [key] = keys
      const master = await cluster.masterOf(key!)
      const [replica] = (await cluster.masters()).find(({ node }) => node === master)!.replicas
      await cluster.waitForReplication()

      await master.kill()
      await cluster.waitUntilHealthy({ timeoutMs: FAILOVER_MS })
      const promoted = await cluster.masterOf(key!)
      const all = await Promise.all(keys.map((k) => client.get(k)))
      await master.restart()
      await cluster.waitUntilHealthy({ timeoutMs: FAILOVER_MS })
      const after = (await cluster.masters()).find(({ node }) => node === replica)

      expect(promoted).toBe(replica)
      expect(all).toEqual(keys)
      expect(after?.replicas).toEqual([master])
    },
    2 * FAILOVER_MS
  )
})

describe('parseClusterNodes()', () => {
  it('when a line has single slots, ranges and a migrating slot, keeps the first two', () => {
    const text =
      'a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-10 12 [11->-b2]\n' +
      'b2 127.0.0.1:7001@17001 slave a1 0 1 1 connected\n'

    const [master, replica] = parseClusterNodes(text)

    expect(master).toEqual({
      id: 'a1',
      port: 7000,
      flags: ['myself', 'master'],
      masterId: undefined,
      slots: [
        [0, 10],
        [12, 12],
      ],
    })
    expect(replica).toMatchObject({ id: 'b2', port: 7001, masterId: 'a1', slots: [] })
  })
})
