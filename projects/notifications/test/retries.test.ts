import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  addSubscriber,
  settled,
  startScriptedProvider,
  startStack,
  trigger,
  type ScriptedProvider,
  type Stack,
} from './helpers.ts'

// Retries of the provider channels (webhooks have their own schedule, in webhooks.test.ts):
// exponential backoff with equal jitter from RETRY_BASE_MS, and never sooner than a provider's
// Retry-After. The SMS and push providers are scripted per call and note when each call came.
const BASE_MS = 200
let stack: Stack
let sms: ScriptedProvider
let push: ScriptedProvider

beforeAll(async () => {
  sms = await startScriptedProvider()
  push = await startScriptedProvider()
  stack = await startStack({
    env: {
      SMS_PROVIDER_URLS: sms.url,
      PUSH_PROVIDER_URLS: push.url,
      RETRY_BASE_MS: String(BASE_MS),
      CHANNEL_ATTEMPTS: '8',
      // The breaker and the call timeout stay out of the way: only the backoff spaces attempts.
      BREAKER_FAILURES: '100',
      PROVIDER_TIMEOUT_MS: '10000',
    },
  })
  await stack.startWorkers()
  await addSubscriber(stack, 'retry-a', {}, { webhook: false })
}, 60_000)

afterAll(async () => {
  await stack.close()
  await sms.close()
  await push.close()
})

type Log = { deliveries: { id: string; channel: string; status: string; attempts: number }[] }

async function send(channels: string[]): Promise<Log> {
  const res = await trigger(stack, { type: 'otp.sent', recipients: ['retry-a'], channels })
  expect(res.status).toBe(202)
  await settled(stack, { timeoutMs: 30_000 })
  return (await (await stack.request(`/v1/events/${res.body.id}`)).json()) as Log
}

const gapsOf = (times: number[]) => times.slice(1).map((at, i) => at - times[i]!)

describe('retries of the SMS and push channels', () => {
  it('when the SMS provider fails 4 times, the retries wait base × 2^(n-1), between half and all of it (equal jitter), then the 5th attempt delivers', async () => {
    sms.script((_, call) =>
      call <= 4 ? Response.json({ error: 'unavailable' }, { status: 503 }) : undefined
    )

    const log = await send(['sms'])
    const delivery = log.deliveries[0]!
    const gaps = gapsOf(sms.callsOf(delivery.id))

    expect(delivery).toMatchObject({ status: 'sent', attempts: 5 })
    expect(gaps).toHaveLength(4)
    gaps.forEach((gap, i) => {
      const base = BASE_MS * 2 ** i
      expect(gap, `wait before attempt ${i + 2}`).toBeGreaterThanOrEqual(base / 2)
      // The upper side has room for a loaded machine; a flat or linear backoff fails the lower.
      expect(gap, `wait before attempt ${i + 2}`).toBeLessThan(base + 750)
    })
  }, 30_000)

  it('when the SMS provider answers 429 and the push provider 503, each with Retry-After, the next attempt waits at least that long', async () => {
    sms.script((_, call) =>
      call === 1
        ? Response.json({ error: 'slow down' }, { status: 429, headers: { 'retry-after': '2' } })
        : undefined
    )
    push.script((_, call) =>
      call === 1
        ? Response.json({ error: 'busy' }, { status: 503, headers: { 'retry-after': '1' } })
        : undefined
    )

    const log = await send(['sms', 'push'])
    const gap = (channel: string, provider: ScriptedProvider) => {
      const delivery = log.deliveries.find((d) => d.channel === channel)!
      expect(delivery).toMatchObject({ status: 'sent', attempts: 2 })
      return gapsOf(provider.callsOf(delivery.id))
    }
    const smsGaps = gap('sms', sms)
    const pushGaps = gap('push', push)

    // Without Retry-After the first retry would come within BASE_MS (200 ms).
    expect(smsGaps).toHaveLength(1)
    expect(smsGaps[0]).toBeGreaterThanOrEqual(2000)
    expect(smsGaps[0]).toBeLessThan(2000 + 1500)
    expect(pushGaps).toHaveLength(1)
    expect(pushGaps[0]).toBeGreaterThanOrEqual(1000)
    expect(pushGaps[0]).toBeLessThan(1000 + 1500)
  }, 30_000)
})
