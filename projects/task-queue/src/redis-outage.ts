import { HttpError } from '@kit/http'
import { isReady, type RedisClient } from './redis-client.ts'

// Why a command could not be served now, as ioredis and Redis say it. ioredis: the offline
// queue is off ("Stream isn't writeable…"), the socket closed under a pending command, the
// command timeout, the reconnect budget of one command, a cluster without a usable topology
// (not ready, no startup node, slots not refreshed, redirections exhausted). Redis Cluster: the
// cluster is down (a master failed with no replica to promote: every key is refused), a slot
// is migrating or its master is being failed over (TRYAGAIN, MASTERDOWN), a node still loading
// its data, a write sent to a replica just demoted. Redis refusing writes: memory full under
// noeviction (OOM), too few replicas for min-replicas-to-write (NOREPLICAS), a failed snapshot
// with stop-writes-on-bgsave-error (MISCONF).
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
    '^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING|READONLY|OOM|NOREPLICAS|MISCONF)\\b',
  ].join('|'),
  'i'
)

/**
 * True when `error` is Redis being unreachable or refusing to serve now, rather than a bug or a
 * bad request.
 */
export function isRedisOutage(error: unknown, redis: RedisClient): boolean {
  return !isReady(redis) || isRefusal(error)
}

function isRefusal(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (error.name === 'MaxRetriesPerRequestError' || OUTAGE.test(error.message)) return true
  // A MULTI that Redis discarded (EXECABORT, or EXEC without MULTI when MULTI itself failed):
  // BullMQ's addBulk is one. ioredis puts the errors that caused it in `previousErrors`.
  const previous = (error as { previousErrors?: unknown }).previousErrors
  return Array.isArray(previous) && previous.some(isRefusal)
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
