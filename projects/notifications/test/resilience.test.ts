import { waitFor } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'

// N5 (breaker per provider) and N6 (bulkheads), with one in-process worker so that its breakers
// are the ones observed.
let stack: Stack

beforeAll(async () => {
  stack = await startStack()
  await stack.startWorkers()
  await addSubscriber(stack, 'res-a', {}, { webhook: false })
}, 60_000)

afterAll(async () => {
  await stack.close()
})

type Breaker = { provider: string; state: string }
async function breakers(): Promise<Record<string, string>> {
  const list = (await (await stack.request('/v1/providers')).json()) as Breaker[]
  return Object.fromEntries(list.map((b) => [b.provider, b.state]))
}

/** The value of `notifications_breaker_open` for each provider, from a /metrics scrape. */
async function breakerGauge(): Promise<Record<string, number>> {
  const text = await (await stack.request('/metrics')).text()
  const samples = text.matchAll(/^notifications_breaker_open\{provider="([^"]+)"\} (\d+)$/gm)
  const gauge: Record<string, number> = {}
  for (const [, provider, value] of samples) gauge[provider!] = Number(value)
  return gauge
}

describe('circuit breaker per provider', () => {
  it('when both SMS providers are down, their breakers open (gauge 1), they get 0 calls while open, one probe closes the primary (gauge 0), and 0 deliveries are lost', async () => {
    const [primary, backup] = stack.providers.sms
    const appliedBefore = primary!.ledger.accepted.size + backup!.ledger.accepted.size
    primary!.setScript({ down: true })
    backup!.setScript({ down: true })

    const ids = []
    for (let i = 0; i < 20; i++)
      ids.push(
        (
          await trigger(stack, {
            type: 'otp.sent',
            recipients: ['res-a'],
            channels: ['sms'],
            data: { i },
          })
        ).body.id
      )
    await waitFor(
      async () => {
        const states = await breakers()
        return states['sms-primary'] === 'open' && states['sms-backup-1'] === 'open'
      },
      { timeoutMs: 20_000, message: 'the SMS breakers never opened' }
    )
    const gaugeOpen = await breakerGauge()
    const ready = (await (await stack.request('/readyz')).json()) as {
      status: string
      checks: Record<string, string>
    }
    const deferred = stack.api.sqlite
      .prepare("SELECT count(*) AS n FROM delivery_log WHERE reason = 'breaker_open'")
      .get() as { n: number }

    // Back up, but every call is held: the first call after the open period is the probe.
    const callsWhileOpen = primary!.ledger.calls
    primary!.setScript({ down: false, hold: true })
    await waitFor(() => primary!.heldCalls === 1, { timeoutMs: 20_000, message: 'no probe came' })
    const callsAtProbe = primary!.ledger.calls
    const stateDuringProbe = (await breakers())['sms-primary']
    primary!.setScript({ hold: false })
    await settled(stack, { timeoutMs: 30_000 })

    expect(ready).toMatchObject({ status: 'degraded', checks: { providers: 'down' } })
    expect(deferred.n).toBeGreaterThan(0)
    expect(callsAtProbe - callsWhileOpen).toBe(1)
    expect(stateDuringProbe).toBe('half-open')
    expect((await breakers())['sms-primary']).toBe('closed')
    expect(gaugeOpen).toMatchObject({ 'sms-primary': 1, 'sms-backup-1': 1 })
    expect(await breakerGauge()).toMatchObject({ 'sms-primary': 0, 'sms-backup-1': 1 })
    const sms = stack.api.sqlite
      .prepare(
        "SELECT status, count(*) AS n FROM deliveries WHERE channel = 'sms' AND event_id IN (SELECT value FROM json_each(?)) GROUP BY status"
      )
      .all(JSON.stringify(ids))
    expect(sms).toEqual([{ status: 'sent', n: 20 }])
    expect(primary!.ledger.accepted.size + backup!.ledger.accepted.size - appliedBefore).toBe(20)
    backup!.setScript({ down: false })
  }, 60_000)
})

describe('bulkheads', () => {
  it('when every SMS call hangs, email deliveries of the same events are all made meanwhile', async () => {
    for (const p of stack.providers.sms) p.setScript({ hold: true, down: false })
    const sentBefore = stack.providers.smtp.reduce((n, p) => n + p.ledger.accepted.size, 0)

    const events = 30
    for (let i = 0; i < events; i++)
      await trigger(stack, {
        type: 'digest.daily',
        recipients: ['res-a'],
        channels: ['sms', 'email'],
        data: { i },
      })
    await waitFor(
      () =>
        stack.providers.smtp.reduce((n, p) => n + p.ledger.accepted.size, 0) - sentBefore ===
        events,
      {
        timeoutMs: 20_000,
        message: 'email waited for SMS',
      }
    )
    const smsHeld = stack.providers.sms.reduce((n, p) => n + p.heldCalls, 0)
    const smsApplied = stack.providers.sms.reduce((n, p) => n + p.ledger.accepted.size, 0)

    for (const p of stack.providers.sms) p.setScript({ hold: false })
    await settled(stack, { timeoutMs: 30_000 })

    expect(smsHeld).toBeGreaterThan(0)
    expect(stack.providers.sms.reduce((n, p) => n + p.ledger.accepted.size, 0) - smsApplied).toBe(
      events
    )
  }, 60_000)
})
