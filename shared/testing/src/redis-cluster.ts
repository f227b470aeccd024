import { spawn } from 'node:child_process'
import { Cluster, Redis, type ClusterOptions } from 'ioredis'
import { removeServerDir, startRedisServer, type RedisServer } from './redis-server.ts'
import { waitFor, WaitTimeoutError } from './wait.ts'

/** One node of a test cluster: a redis-server child (stop, kill -9, restart) with its node id. */
export type RedisClusterNode = RedisServer & {
  /** The node's cluster id (40 hex); it survives restarts (nodes.conf in the node's dir). */
  readonly id: string
  readonly busPort: number
}

/** A master as the cluster sees it now: the slot ranges it serves and its replicas. */
export type ClusterMaster = {
  node: RedisClusterNode
  /** Inclusive slot ranges, e.g. [[0, 5460]]. */
  slots: Array<[first: number, last: number]>
  replicas: RedisClusterNode[]
}

/** A Redis Cluster of redis-server children on free ports of 127.0.0.1. */
export type RedisCluster = {
  /** Every node, in start order (the first `masters` were created as masters). */
  readonly nodes: readonly RedisClusterNode[]
  /** The seed nodes, comma-separated: 'redis://127.0.0.1:p1,redis://127.0.0.1:p2,...'. */
  readonly urls: string
  /** The seed nodes for ioredis: `new Cluster(cluster.startupNodes)`. */
  readonly startupNodes: Array<{ host: string; port: number }>
  /** Masters that serve slots now, read from a running node (after a failover, the promoted). */
  masters(): Promise<ClusterMaster[]>
  /** The master that serves `key`'s slot now (hash tags count, as for any client). */
  masterOf(key: string): Promise<RedisClusterNode>
  /**
   * Resolves once the cluster is usable from every running node: each says `cluster_state:ok`
   * with all 16384 slots served by running masters, they agree on who serves which slots, none
   * sees a running node as failing, and each running replica is linked to its master. Await it
   * after a kill (the replica takes over) and after a restart (the node rejoins).
   */
  waitUntilHealthy(options?: { timeoutMs?: number }): Promise<void>
  /** Resolves once every running replica has received all its master had written when called. */
  waitForReplication(options?: { timeoutMs?: number }): Promise<void>
  /** Ends every node (SIGKILL: nothing is kept) and removes their dirs. */
  stop(): Promise<void>
}

export type StartRedisClusterOptions = {
  /** Masters; the 16384 slots are split evenly between them. Default 3, the minimum. */
  masters?: number
  /**
   * Replicas per master; default 0. With 1 (six nodes), a killed master's replica is promoted
   * after `nodeTimeoutMs` and an election, and the old master rejoins as a replica on restart.
   */
  replicasPerMaster?: number
  /** AOF (everysec) on every node, so a restarted node keeps its data; default true. */
  appendonly?: boolean
  /**
   * `cluster-node-timeout`: how long a node may be unreachable before the others count it as
   * failing and its replica may take over. Default 2000 ms (Redis' own default is 15000).
   */
  nodeTimeoutMs?: number
  /** Extra `redis-server` arguments for every node, e.g. ['--cluster-require-full-coverage', 'no']. */
  args?: string[]
  /** How long to wait for the new cluster to be healthy; default 30000 ms. */
  startTimeoutMs?: number
}

const SLOTS = 16384

/**
 * Starts a real Redis Cluster: `masters * (1 + replicasPerMaster)` redis-server children in
 * cluster mode on free ports (each with its own cluster bus port and temp dir), joined with
 * `redis-cli --cluster create`; resolves once `waitUntilHealthy()` does. Each node is a
 * `RedisServer`: a fault test can stop, kill -9 or restart one on the same port.
 *
 * @example
 * ```ts
 * const cluster = await startRedisCluster({ replicasPerMaster: 1 })
 * afterAll(() => cluster.stop())
 * const client = new Cluster(cluster.startupNodes)
 * await client.set('{user:1}:name', 'Ada')
 * const master = await cluster.masterOf('{user:1}:name')
 * await master.kill() // its replica is promoted
 * await cluster.waitUntilHealthy()
 * ```
 */
export async function startRedisCluster({
  masters = 3,
  replicasPerMaster = 0,
  appendonly = true,
  nodeTimeoutMs = 2000,
  args = [],
  startTimeoutMs = 30_000,
}: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  if (!Number.isInteger(masters) || masters < 3) {
    throw new RangeError(`masters must be an integer >= 3 (redis-cli's minimum), got ${masters}`)
  }
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) {
    throw new RangeError(`replicasPerMaster must be an integer >= 0, got ${replicasPerMaster}`)
  }
  const nodeArgs = [
    ...['--cluster-node-timeout', String(nodeTimeoutMs)],
    // A replica however long cut off from its master may still take over: tests kill on purpose.
    ...['--cluster-replica-validity-factor', '0'],
    ...args,
  ]
  const count = masters * (1 + replicasPerMaster)
  const servers: RedisServer[] = []
  try {
    // One at a time: each start picks free ports, and parallel picks could pick the same.
    for (let i = 0; i < count; i++) {
      servers.push(await startRedisServer({ cluster: true, appendonly, args: nodeArgs }))
    }
    await createCluster(servers, replicasPerMaster)
    const nodes: RedisClusterNode[] = []
    for (const server of servers) {
      const id = String(await nodeCommand(server.port, 'CLUSTER', 'MYID'))
      nodes.push(Object.assign(server as RedisServer & { busPort: number }, { id }))
    }
    const cluster = clusterOf(nodes)
    await cluster.waitUntilHealthy({ timeoutMs: startTimeoutMs })
    return cluster
  } catch (error) {
    await stopAll(servers)
    throw error
  }
}

// SIGKILL: the data goes with the dirs, and on SIGTERM a master waits up to shutdown-timeout
// (10 s) for replicas that may be stopping too.
async function stopAll(servers: readonly RedisServer[]): Promise<void> {
  await Promise.allSettled(servers.map((server) => server.kill()))
  for (const server of servers) removeServerDir(server.dir)
}

function clusterOf(nodes: RedisClusterNode[]): RedisCluster {
  const byPort = new Map(nodes.map((node) => [node.port, node]))
  const running = () => nodes.filter((node) => node.running)

  /** CLUSTER NODES from the first running node that answers. */
  async function view(): Promise<NodeLine[]> {
    let lastError: unknown = new Error('no node is running')
    for (const node of running()) {
      try {
        return parseClusterNodes(String(await nodeCommand(node.port, 'CLUSTER', 'NODES')))
      } catch (error) {
        lastError = error
      }
    }
    throw lastError
  }

  async function masters(): Promise<ClusterMaster[]> {
    const lines = await view()
    const nodeOf = (line: NodeLine) => {
      const node = byPort.get(line.port)
      if (!node) throw new Error(`the cluster reports a node on port ${line.port} it never started`)
      return node
    }
    return lines
      .filter((line) => line.flags.includes('master') && line.slots.length > 0)
      .map((line) => ({
        node: nodeOf(line),
        slots: line.slots,
        replicas: lines.filter((replica) => replica.masterId === line.id).map(nodeOf),
      }))
  }

  /** What is wrong with the cluster as `node` sees it, or null when nothing is. */
  async function problemSeenBy(node: RedisClusterNode): Promise<string | null> {
    const info = parseInfo(String(await nodeCommand(node.port, 'CLUSTER', 'INFO')))
    if (info.cluster_state !== 'ok') return `${node.port}: cluster_state:${info.cluster_state}`
    if (Number(info.cluster_slots_ok) !== SLOTS) {
      return `${node.port}: cluster_slots_ok:${info.cluster_slots_ok}`
    }
    if (Number(info.cluster_known_nodes) !== nodes.length) {
      return `${node.port}: knows ${info.cluster_known_nodes} of ${nodes.length} nodes`
    }
    const lines = parseClusterNodes(String(await nodeCommand(node.port, 'CLUSTER', 'NODES')))
    for (const line of lines) {
      const peer = byPort.get(line.port)
      if (peer?.running && /fail|handshake|noaddr/.test(line.flags.join(','))) {
        return `${node.port}: sees running node ${line.port} as ${line.flags.join(',')}`
      }
      if (line.slots.length > 0 && !peer?.running) {
        return `${node.port}: slots served by ${line.port}, which is not running`
      }
    }
    if (lines.find((line) => line.flags.includes('myself'))?.flags.includes('slave')) {
      const replication = parseInfo(String(await nodeCommand(node.port, 'INFO', 'replication')))
      if (replication.master_link_status !== 'up') {
        return `${node.port}: replica with master_link_status:${replication.master_link_status}`
      }
    }
    return null
  }

  /** Who serves which slots, as `node` sees it: equal on every node of a settled cluster. */
  async function slotMapSeenBy(node: RedisClusterNode): Promise<string> {
    const lines = parseClusterNodes(String(await nodeCommand(node.port, 'CLUSTER', 'NODES')))
    return lines
      .filter((line) => line.slots.length > 0)
      .map((line) => `${line.port}:${line.slots.map((range) => range.join('-')).join(',')}`)
      .sort()
      .join(' ')
  }

  return {
    nodes,
    urls: nodes.map((node) => node.url).join(','),
    startupNodes: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
    masters,
    async masterOf(key) {
      const [first] = running()
      if (!first) throw new Error('no node is running')
      const slot = Number(await nodeCommand(first.port, 'CLUSTER', 'KEYSLOT', key))
      const owner = (await masters()).find(({ slots }) =>
        slots.some(([low, high]) => slot >= low && slot <= high)
      )
      if (!owner) throw new Error(`no master serves slot ${slot} (of ${JSON.stringify(key)})`)
      return owner.node
    },
    async waitUntilHealthy({ timeoutMs = 30_000 } = {}) {
      let problem = 'not checked yet'
      const healthy = async () => {
        try {
          const live = running()
          for (const node of live) {
            const seen = await problemSeenBy(node)
            if (seen !== null) {
              problem = seen
              return false
            }
          }
          const maps = new Set(await Promise.all(live.map(slotMapSeenBy)))
          if (maps.size !== 1) {
            problem = `nodes disagree on the slot map: ${[...maps].join(' | ')}`
            return false
          }
          return true
        } catch (error) {
          problem = error instanceof Error ? error.message : String(error)
          return false
        }
      }
      await waitFor(healthy, { timeoutMs, intervalMs: 100 }).catch((error: Error) => {
        // waitFor's message is fixed when it is called: name what the last check saw instead.
        throw new WaitTimeoutError(`Redis Cluster not healthy within ${timeoutMs} ms: ${problem}`, {
          cause: error,
        })
      })
    },
    async waitForReplication({ timeoutMs = 10_000 } = {}) {
      const targets: Array<{ replica: RedisClusterNode; offset: number }> = []
      for (const { node, replicas } of await masters()) {
        const info = parseInfo(String(await nodeCommand(node.port, 'INFO', 'replication')))
        const offset = Number(info.master_repl_offset)
        for (const replica of replicas.filter((r) => r.running)) targets.push({ replica, offset })
      }
      await waitFor(
        async () => {
          for (const { replica, offset } of targets) {
            const info = parseInfo(String(await nodeCommand(replica.port, 'INFO', 'replication')))
            if (!(Number(info.slave_repl_offset) >= offset)) return false
          }
          return true
        },
        { timeoutMs, intervalMs: 20, message: 'replicas did not catch up with their masters' }
      )
    },
    stop: () => stopAll(nodes),
  }
}

/** `redis-cli --cluster create`: assigns the slots, pairs replicas, waits for the join. */
function createCluster(servers: readonly RedisServer[], replicas: number): Promise<void> {
  const bin = process.env.REDIS_CLI_BIN || 'redis-cli'
  const argv = [
    ...['--cluster', 'create', ...servers.map((server) => `127.0.0.1:${server.port}`)],
    ...['--cluster-replicas', String(replicas), '--cluster-yes'],
  ]
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.once('error', (error) =>
      reject(new Error(`${bin} could not be started`, { cause: error }))
    )
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${bin} ${argv.join(' ')} exited with ${code}:\n${output.slice(-4000)}`))
    )
  })
}

/** One command on one node over a fresh connection that never retries (no state survives it). */
async function nodeCommand(port: number, command: string, ...args: string[]): Promise<unknown> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
    commandTimeout: 2000,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    return await client.call(command, ...args)
  } finally {
    client.disconnect()
  }
}

type NodeLine = {
  id: string
  port: number
  flags: string[]
  /** The master's id for a replica; undefined for a master. */
  masterId: string | undefined
  slots: Array<[number, number]>
}

/**
 * Parses CLUSTER NODES: `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link>
 * <slot>...`, where a slot is `n` or `a-b`, or `[n->-id]`/`[n-<-id]` while migrating (skipped).
 */
export function parseClusterNodes(text: string): NodeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , , ...slots] = line
        .trim()
        .split(' ')
      const port = Number(/:(\d+)@/.exec(address)?.[1])
      return {
        id,
        port,
        flags: flags.split(','),
        masterId: master === '-' ? undefined : master,
        slots: slots
          .filter((slot) => !slot.startsWith('['))
          .map((slot): [number, number] => {
            const [low, high = low] = slot.split('-').map(Number) as [number, number?]
            return [low, high]
          }),
      }
    })
}

/** `key:value` lines of INFO or CLUSTER INFO. */
function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1)
  }
  return fields
}

/**
 * An ioredis Cluster client on the seed nodes of `urls` (comma-separated, as REDIS_CLUSTER_URLS
 * and `inject('redisClusterUrls')` give them, or a started cluster's `urls`), resolved once it is
 * ready. Connection errors are left to the caller's 'error' listener; none is added.
 *
 * @example
 * ```ts
 * const client = await connectCluster(inject('redisClusterUrls'))
 * afterAll(() => client.quit())
 * ```
 */
export async function connectCluster(urls: string, options: ClusterOptions = {}): Promise<Cluster> {
  // ioredis takes 'redis://host:port' strings as seed nodes.
  const client = new Cluster(urls.split(','), options)
  if (client.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        client.off('end', onEnd)
        resolve()
      }
      const onEnd = () => {
        client.off('ready', onReady)
        reject(new Error(`Redis Cluster at ${urls} closed before it was ready`))
      }
      client.once('ready', onReady)
      client.once('end', onEnd)
    })
  }
  return client
}
