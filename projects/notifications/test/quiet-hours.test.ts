import { waitFor } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'

// Quiet hours end-to-end: a delivery held by the subscriber's night goes out when it ends. The
// API's fan-out plans on a clock set a few seconds before 07:00 in Kathmandu (UTC+05:45), so the
// night ends seconds later in real time; the workers and the delivery log keep the real clock.
const WINDOW_END = Date.parse('2026-06-01T01:15:00Z') // 07:00 in Asia/Kathmandu
const LEAD_MS = 6000
let offset = 0
let stack: Stack

beforeAll(async () => {
  stack = await startStack({ now: () => Date.now() + offset })
  await stack.startWorkers()
  await addSubscriber(
    stack,
    'night-owl',
    { timezone: 'Asia/Kathmandu', quietHours: { start: '22:00', end: '07:00' } },
    { webhook: false }
  )
}, 60_000)

afterAll(async () => {
  await stack.close()
})

type Log = {
  deliveries: { channel: string; status: string; reason: string | null }[]
  timeline: { status: string; reason: string | null; detail: string | null; at: string }[]
}

const applied = () =>
  [...stack.providers.smtp, ...stack.providers.sms, ...stack.providers.push].reduce(
    (n, p) => n + p.ledger.accepted.size,
    0
  )

describe('quiet hours, end to end', () => {
  it('when an event comes 6 s before the night ends in the subscriber zone, email, SMS and push wait, then go out once the night is over', async () => {
    const start = Date.now()
    offset = WINDOW_END - LEAD_MS - start
    const endsAt = start + LEAD_MS // the night's end, in real time

    const res = await trigger(stack, {
      type: 'weekly.summary',
      recipients: ['night-owl'],
      channels: ['email', 'sms', 'push'],
    })
    expect(res.status).toBe(202)
    const eventLog = async () =>
      (await (await stack.request(`/v1/events/${res.body.id}`)).json()) as Log
    await waitFor(async () => (await eventLog()).deliveries.length === 3, {
      message: 'the event was never planned',
    })
    const held = await eventLog()
    // Still night a moment before the end: nothing reached a provider.
    await waitFor(() => Date.now() >= endsAt - 300, { timeoutMs: LEAD_MS + 1000 })
    const appliedBeforeEnd = applied()
    const stillHeld = (await eventLog()).deliveries.map((d) => d.status)

    await waitFor(() => applied() === 3, {
      timeoutMs: 20_000,
      message: 'the held deliveries never went out',
    })
    await settled(stack)
    const after = await eventLog()

    expect(held.deliveries.map((d) => `${d.channel}:${d.status}:${d.reason}`).sort()).toEqual([
      'email:suppressed:quiet_hours',
      'push:suppressed:quiet_hours',
      'sms:suppressed:quiet_hours',
    ])
    expect(held.timeline.filter((s) => s.reason === 'quiet_hours').map((s) => s.detail)).toEqual(
      Array(3).fill('until 2026-06-01T01:15:00.000Z')
    )
    expect(appliedBeforeEnd).toBe(0)
    expect(stillHeld).toEqual(['suppressed', 'suppressed', 'suppressed'])
    expect(after.deliveries.map((d) => d.status)).toEqual(['sent', 'sent', 'sent'])
    const sentAt = after.timeline.filter((s) => s.status === 'sent').map((s) => Date.parse(s.at))
    expect(sentAt).toHaveLength(3)
    // BullMQ stores delays in whole milliseconds: allow one either side.
    for (const at of sentAt) expect(at).toBeGreaterThanOrEqual(endsAt - 1)
    expect(applied()).toBe(3)
  }, 60_000)
})
