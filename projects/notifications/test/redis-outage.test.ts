import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '@kit/testing'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'

// N8: the outbox. Redis dies during the fan-out; the API keeps accepting events (they are in
// SQLite before the 202), /readyz says degraded, and once Redis is back every accepted event is
// delivered in full.
let stack: Stack

beforeAll(async () => {
  // A slow call under load must not time out: a timeout is retried, and the provider would see
  // the key twice for a reason that is not the outage.
  stack = await startStack({ ownRedis: true, env: { PROVIDER_TIMEOUT_MS: '10000' } })
  await addSubscriber(stack, 'outage-a')
  await stack.startWorkers()
}, 60_000)

afterAll(async () => {
  await stack.close()
})

describe('Redis outage during fan-out', () => {
  it('when Redis is killed and restarted, every event accepted before, during and after is delivered in full', async () => {
    const accepted: string[] = []
    const send = async (i: number) => {
      const res = await trigger(stack, {
        type: 'outage.test',
        recipients: ['outage-a'],
        data: { i },
      })
      expect(res.status).toBe(202)
      accepted.push(res.body.id)
    }
    for (let i = 0; i < 10; i++) await send(i)

    await stack.redisServer!.kill()
    for (let i = 10; i < 30; i++) await send(i)
    await waitFor(() => stack.api.outbox.backlog().count > 0 && stack.api.relay.failing, {
      message: 'the outbox never held events while Redis was down',
    })
    const ready = await stack.request('/readyz')
    const readyBody = (await ready.json()) as { status: string; checks: Record<string, string> }

    await stack.redisServer!.restart()
    for (let i = 30; i < 40; i++) await send(i)
    await settled(stack, { timeoutMs: 60_000 })

    expect(ready.status).toBe(200)
    expect(readyBody).toMatchObject({
      status: 'degraded',
      checks: { redis: 'down', outbox: 'down', sqlite: 'up' },
    })
    expect(accepted).toHaveLength(40)
    expect(stack.api.log.countByStatus()).toEqual({ sent: 40 * 5 })
    // Losing Redis loses no record of a send (the log is in SQLite, read before every call), so
    // not even the wire repeats: each provider was called once per delivery, and never with a
    // key it had already applied.
    for (const [channel, providers] of [
      ['email', stack.providers.smtp],
      ['sms', stack.providers.sms],
      ['push', stack.providers.push],
    ] as const) {
      const keys = providers.flatMap((p) => [...p.ledger.accepted.keys()])
      expect(new Set(keys).size, `${channel}: applied once`).toBe(40)
      expect(keys, `${channel}: applied by one provider`).toHaveLength(40)
      expect(
        providers.map((p) => p.ledger.duplicates),
        `${channel}: repeated keys`
      ).toEqual([0, 0])
      expect(
        providers.reduce((n, p) => n + p.ledger.calls, 0),
        `${channel}: calls`
      ).toBe(40)
    }
  }, 120_000)
})
