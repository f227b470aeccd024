import { once } from 'node:events'
import { waitFor } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'

// N3: worker processes SIGKILLed again and again in the middle of deliveries. BullMQ gives a
// dead worker's jobs to another once their lock expires; deliveries that were half done run
// again, and the providers' idempotency keys keep their effect single.
const EVENTS = 40
const SUBSCRIBERS = ['crash-a', 'crash-b']
let stack: Stack

beforeAll(async () => {
  // One delivery at a time per channel and process, 250 ms each: kills land mid-flight.
  stack = await startStack({
    env: { CHANNEL_CONCURRENCY: 'email=1,sms=1,push=1,webhook=1,in_app=1' },
  })
  for (const id of SUBSCRIBERS) await addSubscriber(stack, id)
  // Slow providers, so that every kill lands on deliveries in flight.
  for (const provider of [
    ...stack.providers.smtp,
    ...stack.providers.sms,
    ...stack.providers.push,
  ]) {
    provider.setScript({ latencyMs: 250, failureRate: 0.1 })
  }
}, 60_000)

afterAll(async () => {
  await stack.close()
})

describe('worker processes killed mid-delivery', () => {
  it('when a worker is SIGKILLed 5 times during the fan-out, every delivery is still made, none twice', async () => {
    for (let i = 0; i < EVENTS; i++) {
      expect(
        (await trigger(stack, { type: 'invoice.paid', recipients: SUBSCRIBERS, data: { i } }))
          .status
      ).toBe(202)
    }
    await stack.spawnWorkers(2)

    let kills = 0
    const pendingAtKill: number[] = []
    for (let round = 0; round < 5; round++) {
      // Kill one as soon as it has delivered something since the last kill.
      const before = stack.api.log.countByStatus().sent ?? 0
      await waitFor(() => (stack.api.log.countByStatus().sent ?? 0) > before, {
        timeoutMs: 20_000,
        message: `no delivery progressed between kills`,
      }).catch((error: unknown) => {
        const rows = stack.api.sqlite
          .prepare(
            'SELECT channel, status, reason, count(*) AS n FROM deliveries GROUP BY channel, status, reason'
          )
          .all()
        throw new Error(
          `${String(error)} ${JSON.stringify(rows)} alive=${stack.processes.filter((p) => p.exitCode === null && p.signalCode === null).length}`
        )
      })
      pendingAtKill.push(stack.api.log.countByStatus().queued ?? 0)
      const victim = stack.processes.find((p) => p.exitCode === null && p.signalCode === null)!
      const exited = once(victim, 'exit')
      victim.kill('SIGKILL')
      await exited
      kills++
      await stack.spawnWorkers(1)
    }
    await settled(stack, { timeoutMs: 90_000 })

    const expected = EVENTS * SUBSCRIBERS.length
    expect(kills).toBe(5)
    expect(
      pendingAtKill.every((n) => n > 0),
      `deliveries pending at each kill: ${pendingAtKill.join(', ')}`
    ).toBe(true)
    expect(stack.api.log.countByStatus()).toEqual({ sent: expected * 5 })
    for (const providers of [stack.providers.smtp, stack.providers.sms, stack.providers.push]) {
      const applied = providers.flatMap((p) => [...p.ledger.accepted.keys()])
      expect(applied.length).toBe(expected)
      expect(new Set(applied).size).toBe(expected)
    }
    expect(stack.receiver.applied.size).toBe(expected)
    const inbox = stack.api.sqlite.prepare('SELECT count(*) AS n FROM inbox_items').get() as {
      n: number
    }
    expect(inbox.n).toBe(expected)
  }, 150_000)
})
