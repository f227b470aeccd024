import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'

// An endpoint that keeps failing is disabled once it has failed, without a single success, for
// WEBHOOK_DISABLE_AFTER_MS (Svix: 5 days; here 300 ms).
let stack: Stack

beforeAll(async () => {
  stack = await startStack({
    env: {
      WEBHOOK_DISABLE_AFTER_MS: '300',
      WEBHOOK_RETRY_SCHEDULE: '100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms',
    },
  })
  await stack.startWorkers()
}, 60_000)

afterAll(async () => {
  await stack.close()
})

describe('webhook endpoint auto-disable', () => {
  it('when an endpoint fails for longer than the limit, it is disabled and the delivery fails with the reason', async () => {
    await addSubscriber(stack, 'wh-dead')
    stack.receiver.script((name) =>
      name === 'wh-dead' ? new Response('no', { status: 503 }) : undefined
    )

    const res = await trigger(stack, {
      type: 'a.b',
      recipients: ['wh-dead'],
      channels: ['webhook'],
    })
    await settled(stack)
    const log = (await (await stack.request(`/v1/events/${res.body.id}`)).json()) as {
      deliveries: { status: string; attempts: number }[]
    }
    const [endpoint] = (await (await stack.request('/v1/subscribers/wh-dead/webhooks')).json()) as {
      status: string
      disabledReason: string
    }[]

    expect(endpoint).toMatchObject({ status: 'disabled', disabledReason: 'persistent failure' })
    expect(log.deliveries[0]!.status).toBe('failed')
    expect(log.deliveries[0]!.attempts).toBeGreaterThanOrEqual(2)
    expect(log.deliveries[0]!.attempts).toBeLessThan(10)

    const enabled = await stack.request(
      `/v1/subscribers/wh-dead/webhooks/${((await (await stack.request('/v1/subscribers/wh-dead/webhooks')).json()) as { id: string }[])[0]!.id}/enable`,
      { method: 'POST' }
    )
    expect(((await enabled.json()) as { status: string }).status).toBe('enabled')
  })
})
