import { randomBytes, randomInt } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import {
  generateSecret,
  sign,
  verify,
  webhookHeaders,
  WebhookVerificationError,
} from './signature.ts'

// The spec's known-answer vector (standard-webhooks libraries/javascript/src/webhook.test.ts).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
}

function randomMessage() {
  const body = JSON.stringify({
    type: `order.${randomBytes(4).toString('hex')}`,
    timestamp: new Date().toISOString(),
    data: { n: randomInt(1e9), text: randomBytes(randomInt(1, 200)).toString('base64') },
  })
  return { id: `msg_${randomBytes(12).toString('base64url').replaceAll('.', '_')}`, body }
}

/** Flips one bit of one byte at a random position of the text (as bytes). */
function mutateOneByte(text: string): string {
  const bytes = Buffer.from(text)
  const at = randomInt(bytes.length)
  bytes[at] = bytes[at]! ^ (1 << randomInt(7))
  return bytes.toString('latin1')
}

describe('sign()', () => {
  it('when given the spec test vector, produces its signature', () => {
    expect(sign(VECTOR, VECTOR.secret)).toBe(VECTOR.signature)
  })

  it('when given several secrets, sends one v1 entry per secret, space-separated', () => {
    const [a, b] = [generateSecret(), generateSecret()]

    const header = sign({ id: 'msg_1', timestamp: 1, body: '{}' }, [a, b])

    expect(header.split(' ')).toEqual([
      sign({ id: 'msg_1', timestamp: 1, body: '{}' }, a),
      sign({ id: 'msg_1', timestamp: 1, body: '{}' }, b),
    ])
  })

  it('when the id contains a full stop, refuses it', () => {
    expect(() => sign({ id: 'a.b', timestamp: 1, body: '' }, generateSecret())).toThrow(RangeError)
  })
})

describe('the standardwebhooks reference library', () => {
  it('when given 1,000 random kit-signed messages, verifies every one, and none with one byte changed', () => {
    let verified = 0
    let mutatedVerified = 0
    for (let i = 0; i < 1000; i++) {
      const secret = generateSecret(randomInt(24, 65))
      const reference = new Webhook(secret)
      const { id, body } = randomMessage()
      const headers = webhookHeaders({ id, body, secrets: [secret] })

      reference.verify(body, headers)
      verified++

      const field = randomInt(3)
      const mutated = {
        body: field === 0 ? mutateOneByte(body) : body,
        headers: {
          ...headers,
          'webhook-id': field === 1 ? mutateOneByte(id) : id,
          // A changed digit moves the time by less than the tolerance, so only the MAC can catch it.
          'webhook-timestamp':
            field === 2
              ? String(Number(headers['webhook-timestamp']) + randomInt(1, 200))
              : headers['webhook-timestamp'],
        },
      }
      try {
        reference.verify(mutated.body, mutated.headers)
        mutatedVerified++
      } catch {
        // expected: a changed byte never verifies
      }
    }

    expect(verified).toBe(1000)
    expect(mutatedVerified).toBe(0)
  })

  it('when it signs a message, the kit verifies it', () => {
    const secret = generateSecret()
    const { id, body } = randomMessage()
    const now = new Date()

    const header = new Webhook(secret).sign(id, now, body)

    expect(
      verify(
        body,
        {
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': header,
        },
        secret
      ).id
    ).toBe(id)
  })
})

describe('verify()', () => {
  const secret = generateSecret()
  const body = '{"type":"a.b"}'
  const at = Date.UTC(2026, 0, 1)

  it('when the timestamp is 299 s off either way, accepts; 301 s off, refuses', () => {
    const signedAt = (offsetSeconds: number) =>
      webhookHeaders({ id: 'msg_t', body, secrets: [secret], now: at + offsetSeconds * 1000 })

    expect(() => verify(body, signedAt(-299), secret, { now: at })).not.toThrow()
    expect(() => verify(body, signedAt(299), secret, { now: at })).not.toThrow()
    expect(() => verify(body, signedAt(-301), secret, { now: at })).toThrow(/too old/)
    expect(() => verify(body, signedAt(301), secret, { now: at })).toThrow(/too new/)
  })

  it('when a rotation sends two signatures, a verifier holding only the old or only the new secret accepts', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()]
    const headers = webhookHeaders({ id: 'msg_r', body, secrets: [newSecret, oldSecret] })

    expect(verify(body, headers, oldSecret).id).toBe('msg_r')
    expect(verify(body, headers, newSecret).id).toBe('msg_r')
    expect(() => verify(body, headers, generateSecret())).toThrow(WebhookVerificationError)
  })

  it('when a header is missing or the signature is of an unknown version, refuses', () => {
    const headers = webhookHeaders({ id: 'msg_m', body, secrets: [secret] })

    expect(() => verify(body, { ...headers, 'webhook-id': undefined }, secret)).toThrow(/missing/)
    expect(() =>
      verify(
        body,
        { ...headers, 'webhook-signature': headers['webhook-signature'].replace('v1,', 'v1a,') },
        secret
      )
    ).toThrow(/no matching/)
  })

  it('when the secret is given without its whsec_ prefix, verifies the same', () => {
    const headers = webhookHeaders({ id: 'msg_p', body, secrets: [secret] })

    expect(verify(body, headers, secret.slice('whsec_'.length)).id).toBe('msg_p')
  })
})
