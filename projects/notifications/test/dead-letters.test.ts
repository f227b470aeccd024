import { waitFor } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'

// The dead-letter queue beyond webhooks: email and SMS deliveries that spend every attempt on
// providers that are down land in their channel's dead-letter queue, are listed by the API, and
// a replay once the providers are back delivers each exactly once.
const ATTEMPTS = 3
let stack: Stack

beforeAll(async () => {
  stack = await startStack({
    // Breakers stay closed here (that path is resilience.test.ts), and no call times out on a
    // loaded machine (a timeout is ambiguous and pins the primary): every attempt calls both.
    env: {
      CHANNEL_ATTEMPTS: String(ATTEMPTS),
      BREAKER_FAILURES: '100',
      RETRY_BASE_MS: '20',
      PROVIDER_TIMEOUT_MS: '10000',
    },
  })
  await stack.startWorkers()
  await addSubscriber(stack, 'dlq-a', {}, { webhook: false })
}, 60_000)

afterAll(async () => {
  await stack.close()
})

type Letter = {
  channel: string
  jobId: string
  deliveryId: string
  reason: string
  attemptsMade: number
}
type Log = {
  deliveries: {
    id: string
    channel: string
    status: string
    reason: string | null
    attempts: number
  }[]
}

describe('dead letters of the email and SMS channels', () => {
  it('when every attempt fails on both providers, the delivery goes to its dead-letter queue; a replay after recovery delivers it once, a second replay does nothing', async () => {
    const channels = [
      ['email', stack.providers.smtp],
      ['sms', stack.providers.sms],
    ] as const
    for (const [, providers] of channels) for (const p of providers) p.setScript({ down: true })

    const res = await trigger(stack, {
      type: 'account.locked',
      recipients: ['dlq-a'],
      channels: ['email', 'sms'],
    })
    expect(res.status).toBe(202)
    const eventLog = async () =>
      (await (await stack.request(`/v1/events/${res.body.id}`)).json()) as Log
    const letters = await waitFor(
      async () => {
        const list = (await (await stack.request('/v1/dead-letters')).json()) as Letter[]
        const ids = new Set((await eventLog()).deliveries.map((d) => d.id))
        const ours = list.filter((l) => ids.has(l.deliveryId))
        return ours.length === 2 ? ours : undefined
      },
      { timeoutMs: 20_000, message: 'the deliveries never reached the dead-letter queues' }
    )
    const failed = await eventLog()
    const callsWhileDown = channels.map(([, providers]) => providers.map((p) => p.ledger.calls))

    for (const [, providers] of channels) for (const p of providers) p.setScript({ down: false })
    const replays = await Promise.all(
      letters.map((l) =>
        stack.request(`/v1/dead-letters/${l.channel}/${l.jobId}/replay`, { method: 'POST' })
      )
    )
    await settled(stack)
    const delivered = await eventLog()
    const callsAfterReplay = channels.map(([, providers]) => providers.map((p) => p.ledger.calls))
    const again = await Promise.all(
      letters.map((l) =>
        stack.request(`/v1/dead-letters/${l.channel}/${l.jobId}/replay`, { method: 'POST' })
      )
    )
    await settled(stack)

    expect(letters.map((l) => `${l.channel}:${l.reason}:${l.attemptsMade}`).sort()).toEqual([
      `email:retries_exhausted:${ATTEMPTS}`,
      `sms:retries_exhausted:${ATTEMPTS}`,
    ])
    expect(
      failed.deliveries.map((d) => `${d.channel}:${d.status}:${d.reason}:${d.attempts}`).sort()
    ).toEqual([
      `email:failed:retries_exhausted:${ATTEMPTS}`,
      `sms:failed:retries_exhausted:${ATTEMPTS}`,
    ])
    // Each attempt tried the primary, then the backup.
    expect(callsWhileDown).toEqual([
      [ATTEMPTS, ATTEMPTS],
      [ATTEMPTS, ATTEMPTS],
    ])
    expect(replays.map((r) => r.status)).toEqual([202, 202])
    expect(delivered.deliveries.map((d) => d.status)).toEqual(['sent', 'sent'])
    for (const [i, [channel, providers]] of channels.entries()) {
      const id = delivered.deliveries.find((d) => d.channel === channel)!.id
      const applied = providers.filter((p) => p.ledger.accepted.has(id))
      expect(
        applied.map((p) => p.name),
        `${channel}: applied by the primary only`
      ).toEqual([providers[0]!.name])
      expect(providers.map((p) => p.ledger.duplicates)).toEqual([0, 0])
      // One call for the replay; none for the second replay.
      expect(callsAfterReplay[i]).toEqual([ATTEMPTS + 1, ATTEMPTS])
    }
    expect(again.map((r) => r.status)).toEqual([200, 200])
    expect(channels.map(([, providers]) => providers.map((p) => p.ledger.calls))).toEqual(
      callsAfterReplay
    )
    expect((await eventLog()).deliveries.map((d) => d.status)).toEqual(['sent', 'sent'])
  }, 60_000)
})
