import { HttpError } from '@kit/http'
import { isReady, type RedisClient } from './redis-client.ts'

// Why a command could not be served now, as ioredis and Redis say it. ioredis: the offline
// queue is off ("Stream isn't writeable…"), the socket closed under a pending command, the
// command timeout, the reconnect budget of one command, a cluster without a usable topology
// (not ready, no startup node, slots not refreshed, redirections exhausted). Redis Cluster: the
// cluster is down (a master failed with no replica to promote: every key is refused), a slot
// is migrating or its master is being failed over (TRYAGAIN, MASTERDOWN), a node still loading
// its data, a write sent to a replica just demoted.
const OUTAGE = new RegExp(
  [
    "Stream isn't writeable",
    'Connection is closed',
    'Command timed out',
    'ECONNREFUSED',
    'ECONNRESET',
    'max retries per request',
    "Cluster isn't ready",
    'Cluster is disconnect',
    'Node is disconnected',
    'None of startup nodes',
    'Failed to refresh slots cache',
    'Too many Cluster redirections',
    '^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING|READONLY)\\b',
  ].join('|'),
  'i'
)

/** True when `error` is Redis being unreachable rather than a bug or a bad request. */
export function isRedisOutage(error: unknown, redis: RedisClient): boolean {
  if (!isReady(redis)) return true
  return (
    error instanceof Error &&
    (error.name === 'MaxRetriesPerRequestError' || OUTAGE.test(error.message))
  )
}

/** The answer to a request Redis cannot serve now: 503 at once, with when to try again. */
export function queueUnavailable(cause?: unknown): HttpError {
  return new HttpError(
    503,
    'queue_unavailable',
    'The queue store is unreachable; try again shortly',
    {
      headers: { 'retry-after': '1' },
      cause,
    }
  )
}
