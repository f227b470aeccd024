/**
 * Redis clients by role for one server or a Redis Cluster. REDIS_URL holds one URL, or several
 * comma-separated seed nodes of a cluster. One server goes through @kit/redis; a cluster gets
 * the same role semantics from ioredis's Cluster: the request path fails fast, consumers wait.
 * Every key of one queue carries the queue's hash tag, so BullMQ's scripts run on one slot.
 */
import { createRedis, reconnectDelay, type RedisLogger, type RedisRole } from '@kit/redis'
import { Cluster, type ClusterOptions, type Redis } from 'ioredis'

export type RedisClient = Redis | Cluster

/** True for a comma-separated list of seed nodes. */
export function isClusterUrl(url: string): boolean {
  return url.includes(',')
}

/**
 * How long the API waits for one Redis command before answering 503: longer than @kit/redis's
 * 500 ms, because one bulk enqueue is a pipeline of up to 1,000 scripts, which a busy Redis can
 * take more than half a second to answer. A frozen Redis still costs a request at most this.
 */
const REQUEST_COMMAND_TIMEOUT_MS = 2000

const clusterRoles: Record<RedisRole, ClusterOptions> = {
  request: {
    enableOfflineQueue: false,
    redisOptions: {
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      commandTimeout: REQUEST_COMMAND_TIMEOUT_MS,
    },
  },
  worker: { enableOfflineQueue: true, redisOptions: { maxRetriesPerRequest: null } },
  subscriber: { enableOfflineQueue: true, redisOptions: { maxRetriesPerRequest: null } },
}

/**
 * @example
 * ```ts
 * const api = createRedisClient(config.REDIS_URL, { role: 'request', name: 'api', logger })
 * ```
 */
export function createRedisClient(
  url: string,
  { role, name, logger }: { role: RedisRole; name: string; logger: RedisLogger }
): RedisClient {
  if (!isClusterUrl(url)) {
    return createRedis(url, {
      role,
      name,
      logger,
      ...(role === 'request' && { redisOptions: { commandTimeout: REQUEST_COMMAND_TIMEOUT_MS } }),
    })
  }
  const cluster = new Cluster(url.split(','), {
    ...clusterRoles[role],
    clusterRetryStrategy: reconnectDelay,
    // A promoted replica takes the slots of a dead master after cluster-node-timeout.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    redisOptions: { ...clusterRoles[role].redisOptions, connectionName: name },
  })
  let down = false
  cluster.on('error', (err: Error) => {
    if (down) return
    down = true
    logger.warn({ err, redis: name, role }, 'redis cluster unavailable, reconnecting')
  })
  cluster.on('ready', () => {
    if (!down) return
    down = false
    logger.info({ redis: name, role }, 'redis cluster available again')
  })
  return cluster
}

/** Connected and ready: no round trip, fine per request. */
export function isReady(client: RedisClient): boolean {
  return client.status === 'ready'
}

/** Resolves when the client is ready; rejects after `timeoutMs`. */
export function waitUntilReady(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (isReady(client)) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady)
      reject(new Error(`Redis not ready after ${timeoutMs} ms`))
    }, timeoutMs)
    const onReady = () => {
      clearTimeout(timer)
      resolve()
    }
    client.once('ready', onReady)
  })
}

/**
 * PING within `timeoutMs`; never throws (a /readyz check). A cluster node answers PING even
 * while the cluster refuses every key (CLUSTERDOWN), so a cluster is asked for its state.
 */
export async function ping(client: RedisClient, timeoutMs = 250): Promise<boolean> {
  if (!isReady(client)) return false
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, timeoutMs, false)))
  const answer =
    client instanceof Cluster
      ? client.cluster('INFO').then((info) => info.includes('cluster_state:ok'))
      : client.ping().then((reply) => reply === 'PONG')
  try {
    return await Promise.race([answer.catch(() => false), late])
  } finally {
    clearTimeout(timer)
  }
}
