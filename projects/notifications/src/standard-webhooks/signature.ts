import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** The spec's prefix of a symmetric secret shown to a consumer: `whsec_` + base64 of the key. */
export const SECRET_PREFIX = 'whsec_'

/**
 * How far a `webhook-timestamp` may be from the verifier's clock, either way (the reference
 * libraries' WEBHOOK_TOLERANCE_IN_SECONDS): an old one is a replay, a new one a forgery.
 */
export const TOLERANCE_SECONDS = 5 * 60

/** One message as the spec signs it: the id, the attempt's Unix seconds and the raw body. */
export type SignedContent = {
  /** `webhook-id`: the same on every attempt of one message; must not contain `.`. */
  id: string
  /** `webhook-timestamp`: Unix seconds of this attempt. */
  timestamp: number
  /** The exact bytes sent; never a re-serialisation of parsed JSON. */
  body: string | Uint8Array
}

/** The request was not signed by a holder of the secret, or is outside the tolerance. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}

/**
 * A new endpoint secret: 32 random bytes (the spec asks for 24 to 64), shown as `whsec_…`.
 *
 * @example
 * ```ts
 * const secret = generateSecret() // 'whsec_3q2+7w…'
 * ```
 */
export function generateSecret(bytes = 32): string {
  if (bytes < 24 || bytes > 64) throw new RangeError('a secret has 24 to 64 bytes')
  return SECRET_PREFIX + randomBytes(bytes).toString('base64')
}

/** The HMAC key of a secret: the base64-decoded part after `whsec_` (not the string itself). */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  const key = Buffer.from(encoded, 'base64')
  if (key.length === 0) throw new WebhookVerificationError('empty secret')
  return key
}

function signedBytes({ id, timestamp, body }: SignedContent): Buffer {
  if (id.includes('.')) throw new RangeError('a webhook-id must not contain "."')
  return Buffer.concat([
    Buffer.from(`${id}.${timestamp}.`),
    typeof body === 'string' ? Buffer.from(body) : body,
  ])
}

function hmac(content: Buffer, secret: string): Buffer {
  return createHmac('sha256', secretKey(secret)).update(content).digest()
}

/**
 * The `webhook-signature` value: one `v1,<base64 HMAC-SHA256>` per secret, space-separated. During
 * a rotation pass both the new and the old secret, so receivers holding either verify.
 *
 * @example
 * ```ts
 * sign({ id: 'msg_1', timestamp: 1614265330, body: '{"a":1}' }, [newSecret, oldSecret])
 * // 'v1,K5oZ… v1,Zm9v…'
 * ```
 */
export function sign(content: SignedContent, secrets: string | readonly string[]): string {
  const bytes = signedBytes(content)
  return [secrets]
    .flat()
    .map((secret) => `v1,${hmac(bytes, secret).toString('base64')}`)
    .join(' ')
}

/**
 * The three headers of one attempt. `now` is this attempt's time (the timestamp changes on every
 * retry, the id never does).
 *
 * @example
 * ```ts
 * const headers = webhookHeaders({ id: 'msg_1', body, secrets: [secret] })
 * await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body })
 * ```
 */
export function webhookHeaders({
  id,
  body,
  secrets,
  now = Date.now(),
}: {
  id: string
  body: string | Uint8Array
  secrets: string | readonly string[]
  now?: number
}): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } {
  const timestamp = Math.floor(now / 1000)
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign({ id, timestamp, body }, secrets),
  }
}

type HeaderSource = Headers | Record<string, string | string[] | undefined>

function header(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * Checks a received message before anything parses it: the headers are present, the timestamp is
 * within `toleranceSeconds` of `now`, and one `v1` entry matches one of `secrets` (compared in
 * constant time). Unknown versions (`v1a`, …) are ignored, as the spec asks.
 *
 * @throws {WebhookVerificationError} saying what is wrong.
 * @example
 * ```ts
 * const raw = await c.req.text()
 * const { id } = verify(raw, c.req.raw.headers, [process.env.WEBHOOK_SECRET!])
 * const event = JSON.parse(raw)
 * ```
 */
export function verify(
  body: string | Uint8Array,
  headers: HeaderSource,
  secrets: string | readonly string[],
  { now = Date.now(), toleranceSeconds = TOLERANCE_SECONDS } = {}
): { id: string; timestamp: number } {
  const id = header(headers, 'webhook-id')
  const stamp = header(headers, 'webhook-timestamp')
  const signatures = header(headers, 'webhook-signature')
  if (!id || !stamp || !signatures) throw new WebhookVerificationError('missing required headers')
  if (!/^\d+$/.test(stamp)) throw new WebhookVerificationError('invalid webhook-timestamp')
  const timestamp = Number(stamp)
  const nowSeconds = Math.floor(now / 1000)
  if (timestamp < nowSeconds - toleranceSeconds) {
    throw new WebhookVerificationError('message timestamp too old')
  }
  if (timestamp > nowSeconds + toleranceSeconds) {
    throw new WebhookVerificationError('message timestamp too new')
  }
  if (id.includes('.')) throw new WebhookVerificationError('invalid webhook-id')

  const bytes = signedBytes({ id, timestamp, body })
  const expected = [secrets].flat().map((secret) => hmac(bytes, secret))
  for (const entry of signatures.split(' ')) {
    const [version, encoded] = entry.split(',', 2)
    if (version !== 'v1' || encoded === undefined) continue
    const received = Buffer.from(encoded, 'base64')
    for (const candidate of expected) {
      if (received.length === candidate.length && timingSafeEqual(received, candidate)) {
        return { id, timestamp }
      }
    }
  }
  throw new WebhookVerificationError('no matching signature found')
}
