import { once } from 'node:events'
import { waitFor } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'

// N3: worker processes SIGKILLed again and again in the middle of deliveries. BullMQ gives a
// dead worker's jobs to another once their lock expires; deliveries that were half done run
// again, and the providers' idempotency keys keep their effect single.
const EVENTS = 40
const SUBSCRIBERS = ['crash-a', 'crash-b']
const WORKERS = 6
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
    // Six processes, all started before any delivery (the queues paused meanwhile): a process
    // takes seconds to start on a loaded machine, so replacing the killed ones would let the
    // survivors finish the fan-out before the last kill. Here five of the six are killed in
    // turn, each while the fan-out is in flight.
    const queues = Object.values(stack.api.queues.byChannel)
    await Promise.all(queues.map((q) => q.pause()))
    await stack.spawnWorkers(WORKERS)
    for (let i = 0; i < EVENTS; i++) {
      expect(
        (await trigger(stack, { type: 'invoice.paid', recipients: SUBSCRIBERS, data: { i } }))
          .status
      ).toBe(202)
    }
    await waitFor(() => stack.api.outbox.backlog().count === 0, {
      message: 'the outbox never drained',
    })
    await Promise.all(queues.map((q) => q.resume()))

    let kills = 0
    const pendingAtKill: number[] = []
    for (let round = 0; round < WORKERS - 1; round++) {
      // Kill one as soon as something was delivered since the last kill.
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
    }
    await settled(stack, { timeoutMs: 90_000 })

    const expected = EVENTS * SUBSCRIBERS.length
    expect(kills).toBe(5)
    expect(
      pendingAtKill.every((n) => n > 0),
      `deliveries pending at each kill: ${pendingAtKill.join(', ')}`
    ).toBe(true)
    expect(stack.api.log.countByStatus()).toEqual({ sent: expected * 5 })
    // Effects: each delivery applied once, by one provider of its channel. The wire is another
    // matter: a worker killed after its provider applied a message, before the log said sent
    // (or a call that timed out after the provider applied it), leaves a job that runs again and
    // calls that provider again with the same key. The provider answers success without applying
    // it again and counts it in `duplicates`: the kills did repeat calls, and the providers'
    // deduplication is what kept the effects single.
    let repeats = 0
    for (const [channel, providers] of [
      ['email', stack.providers.smtp],
      ['sms', stack.providers.sms],
      ['push', stack.providers.push],
    ] as const) {
      const applied = providers.flatMap((p) => [...p.ledger.accepted.keys()])
      expect(applied.length, `${channel}: applied`).toBe(expected)
      expect(new Set(applied).size, `${channel}: applied once`).toBe(expected)
      repeats += providers.reduce((n, p) => n + p.ledger.duplicates, 0)
    }
    expect(repeats, 'calls with a key the provider had already applied').toBeGreaterThan(0)
    expect(stack.receiver.applied.size).toBe(expected)
    const inbox = stack.api.sqlite.prepare('SELECT count(*) AS n FROM inbox_items').get() as {
      n: number
    }
    expect(inbox.n).toBe(expected)
  }, 240_000)
})
