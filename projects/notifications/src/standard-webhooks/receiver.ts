import type { Context } from 'hono'
import { verify, WebhookVerificationError } from './signature.ts'

/**
 * Where a receiver remembers the ids it has applied. `claim` answers true for the first caller
 * of an id (who then applies it) and false for every later one; `release` forgets a claim whose
 * handling failed, so the sender's retry applies it.
 */
export type SeenIds = {
  claim(id: string): Promise<boolean>
  release(id: string): Promise<void>
}

/** The few calls of an ioredis client the Redis store needs. */
export type RedisLike = {
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<'OK' | null>
  del(key: string): Promise<number>
}

/**
 * Ids kept in Redis for `ttlMs` (the spec suggests about 5 minutes, longer than the timestamp
 * tolerance, so a replayed message is either too old or a known id). `SET NX PX` claims
 * atomically, so concurrent deliveries of one id apply it once across every receiver instance.
 *
 * @example
 * ```ts
 * const seen = redisSeenIds(new Redis(process.env.REDIS_URL!), { prefix: 'shop:webhooks:seen:' })
 * ```
 */
export function redisSeenIds(
  redis: RedisLike,
  { prefix = 'webhooks:seen:', ttlMs = 10 * 60 * 1000 }: { prefix?: string; ttlMs?: number } = {}
): SeenIds {
  return {
    async claim(id) {
      return (await redis.set(prefix + id, '1', 'PX', ttlMs, 'NX')) === 'OK'
    },
    async release(id) {
      await redis.del(prefix + id)
    },
  }
}

export type ReceivedWebhook = { id: string; timestamp: number; payload: unknown; raw: string }

/**
 * The reference consumer as a Hono handler: reads the raw body, verifies it against the
 * endpoint's secrets (any of them, for rotations) before parsing, claims the `webhook-id`, calls
 * `onMessage` once per id, and answers 204. A bad signature answers 401; a duplicate answers 200
 * without calling `onMessage`; a failing `onMessage` releases the id and answers 500, so the
 * sender retries.
 *
 * @example
 * ```ts
 * app.post('/webhooks', webhookReceiver({
 *   secrets: () => [process.env.WEBHOOK_SECRET!],
 *   seen: redisSeenIds(redis),
 *   onMessage: async ({ payload }) => { await orders.apply(payload) },
 * }))
 * ```
 */
export function webhookReceiver({
  secrets,
  seen,
  onMessage,
  maxBytes = 256 * 1024,
  now = Date.now,
}: {
  secrets: () => readonly string[]
  seen: SeenIds
  onMessage: (message: ReceivedWebhook) => Promise<void> | void
  maxBytes?: number
  now?: () => number
}) {
  const answer = (c: Context, status: 400 | 401 | 413 | 500, code: string, detail: string) =>
    c.body(JSON.stringify({ type: 'about:blank', title: code, status, code, detail }), status, {
      'content-type': 'application/problem+json',
    })

  return async function receiveWebhook(c: Context) {
    const raw = await c.req.text()
    if (Buffer.byteLength(raw) > maxBytes) return answer(c, 413, 'payload_too_large', 'Too large')
    let verified: { id: string; timestamp: number }
    try {
      verified = verify(raw, c.req.raw.headers, secrets(), { now: now() })
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error
      return answer(c, 401, 'invalid_signature', error.message)
    }
    let payload: unknown
    try {
      payload = JSON.parse(raw)
    } catch {
      return answer(c, 400, 'malformed_json', 'The body is not JSON')
    }
    if (!(await seen.claim(verified.id))) return c.body(null, 200)
    try {
      await onMessage({ ...verified, payload, raw })
    } catch {
      await seen.release(verified.id)
      return answer(c, 500, 'handler_failed', 'Not applied; retry')
    }
    return c.body(null, 204)
  }
}
