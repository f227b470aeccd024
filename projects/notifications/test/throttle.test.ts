import { waitFor } from '@kit/testing'
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

// The per-channel throttle (CHANNEL_THROTTLE, BullMQ's limiter): SMS limited to 3 per 3 s while
// email, unthrottled, goes at its own pace. The SMS provider notes when each call arrives.
const MAX = 3
const WINDOW_MS = 3000
const EVENTS = 9
let stack: Stack
let sms: ScriptedProvider

beforeAll(async () => {
  sms = await startScriptedProvider()
  stack = await startStack({
    env: { SMS_PROVIDER_URLS: sms.url, CHANNEL_THROTTLE: `sms=${MAX}/${WINDOW_MS / 1000}s` },
  })
  await stack.startWorkers()
  await addSubscriber(stack, 'throttled-a', {}, { webhook: false })
}, 60_000)

afterAll(async () => {
  await stack.close()
  await sms.close()
})

const emails = () => stack.providers.smtp.reduce((n, p) => n + p.ledger.accepted.size, 0)

describe('per-channel throttle', () => {
  it('when SMS is throttled to 3 per 3 s, 9 SMS take at least two more windows, while the 9 emails of the same events all go out in the first', async () => {
    for (let i = 0; i < EVENTS; i++) {
      const res = await trigger(stack, {
        type: 'promo.flash',
        recipients: ['throttled-a'],
        channels: ['sms', 'email'],
        data: { i },
      })
      expect(res.status).toBe(202)
    }
    await waitFor(() => emails() === EVENTS, {
      timeoutMs: 20_000,
      intervalMs: 10,
      message: 'the emails never all went out',
    })
    const emailsDoneAt = Date.now()
    await settled(stack, { timeoutMs: 30_000 })
    const times = sms.calls.map((c) => c.at)

    expect(stack.api.log.countByStatus()).toEqual({ sent: EVENTS * 2 })
    expect(times).toHaveLength(EVENTS)
    // The limiter counts in fixed windows of 3 s, at most 3 each: 7 calls need 3 windows, so any
    // 7 in a row span more than one window (minus the moment a call takes to reach the provider).
    for (let i = 0; i + 2 * MAX < times.length; i++)
      expect(times[i + 2 * MAX]! - times[i]!, `calls ${i + 1} to ${i + 7}`).toBeGreaterThan(
        WINDOW_MS - 250
      )
    // The first call opens the first window; the 7th is in the third: two windows later.
    expect(times[2 * MAX]! - times[0]!).toBeGreaterThan(2 * WINDOW_MS - 250)
    // Email is not held by SMS's limit: every email was out before the first window closed.
    expect(emailsDoneAt - times[0]!).toBeLessThan(WINDOW_MS)
    expect(times.filter((at) => at <= emailsDoneAt).length).toBeLessThanOrEqual(MAX)
  }, 60_000)
})
