import { HttpError } from '@kit/http'
import { isReady, type RedisClient } from './redis-client.ts'

// ioredis's messages when a command cannot be sent or is not answered: offline queue off
// ("Stream isn't writeable…"), the socket closed under a pending command, the command timeout,
// and the reconnect budget of one command (MaxRetriesPerRequestError).
const OUTAGE =
  /Stream isn't writeable|Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|max retries per request/i

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
