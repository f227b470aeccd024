import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'

// N1: many events to every channel, providers failing a share of calls at random (503s, and
// timeouts after applying the message), delivered by two real worker processes.
const EVENTS = 40
const SUBSCRIBERS = ['fan-a', 'fan-b', 'fan-c']
let stack: Stack

beforeAll(async () => {
  stack = await startStack()
  for (const id of SUBSCRIBERS) await addSubscriber(stack, id)
  const flaky = { failureRate: 0.2, timeoutRate: 0.05, timeoutLatencyMs: 1500 }
  for (const provider of [...stack.providers.smtp, ...stack.providers.sms, ...stack.providers.push])
    provider.setScript(flaky)
  stack.receiver.script(() =>
    Math.random() < 0.2 ? new Response('busy', { status: 503 }) : undefined
  )
  await stack.spawnWorkers(2)
}, 60_000)

afterAll(async () => {
  await stack.close()
})

/** Delivery ids per channel, from the log. */
function idsOf(channel: string): Set<string> {
  const rows = stack.api.sqlite
    .prepare('SELECT id FROM deliveries WHERE channel = ?')
    .all(channel) as { id: string }[]
  return new Set(rows.map((r) => r.id))
}

/** Keys applied by each provider of a channel: the union must be every delivery, the overlap none. */
function applied(providers: { ledger: { accepted: Map<string, unknown> } }[]) {
  const all = providers.flatMap((p) => [...p.ledger.accepted.keys()])
  return { union: new Set(all), total: all.length }
}

describe('fan-out of many events to five channels with flaky providers', () => {
  it('when every call fails at random 20 % of the time, every delivery is made once: 0 lost, 0 duplicates seen by providers', async () => {
    const ids = []
    for (let i = 0; i < EVENTS; i++) {
      const res = await trigger(stack, {
        type: 'order.shipped',
        recipients: SUBSCRIBERS,
        data: { order: i },
      })
      expect(res.status).toBe(202)
      ids.push(res.body.id)
    }

    await settled(stack, { timeoutMs: 60_000 })

    const expected = EVENTS * SUBSCRIBERS.length
    expect(stack.api.log.countByStatus()).toEqual({ sent: expected * 5 })
    for (const [channel, providers] of [
      ['email', stack.providers.smtp],
      ['sms', stack.providers.sms],
      ['push', stack.providers.push],
    ] as const) {
      const { union, total } = applied(providers)
      expect(union, `${channel}: every delivery applied`).toEqual(idsOf(channel))
      expect(total, `${channel}: no delivery applied by two providers`).toBe(expected)
    }
    expect(new Set(stack.receiver.applied.keys())).toEqual(idsOf('webhook'))
    const inbox = stack.api.sqlite
      .prepare('SELECT count(*) AS n, count(DISTINCT delivery_id) AS d FROM inbox_items')
      .get() as { n: number; d: number }
    expect(inbox).toEqual({ n: expected, d: expected })
    // The failures were real: providers refused calls and saw retries of applied keys.
    const refused = [...stack.providers.sms, ...stack.providers.push].reduce(
      (n, p) => n + p.ledger.failed,
      0
    )
    expect(refused).toBeGreaterThan(0)
  }, 180_000)
})
