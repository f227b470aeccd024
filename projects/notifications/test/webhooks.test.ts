import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { waitFor } from '@kit/testing'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Resolver } from '../src/ssrf-guard/index.ts'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'

// The webhook channel end to end: registration, signing and rotation, the retry schedule, 410,
// auto-disable, the dead-letter queue and its replay, and the SSRF guard at both ends.
let stack: Stack
let canary: Server
let canaryPort = 0
let canaryHits = 0
const canarySockets = new Set<Socket>()

// Names the service resolves: a public address at registration, then the canary's loopback at
// send time (DNS rebinding). No packet goes further than 127.0.0.1.
let rebindCalls = 0
const resolver: Resolver = (hostname) => {
  if (hostname === 'rebind.example') {
    rebindCalls++
    return Promise.resolve([
      { address: rebindCalls === 1 ? '93.184.215.14' : '127.0.0.2', family: 4 },
    ])
  }
  if (hostname === 'private.example') return Promise.resolve([{ address: '127.0.0.2', family: 4 }])
  return Promise.reject(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }))
}

beforeAll(async () => {
  canary = createServer((socket) => {
    canaryHits++
    canarySockets.add(socket)
    socket.destroy()
  })
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.2', resolve))
  canaryPort = (canary.address() as AddressInfo).port
  stack = await startStack({
    resolver,
    env: {
      // 5 attempts: at once, then after 100, 200, 300 and 400 ms (a scaled-down table).
      WEBHOOK_RETRY_SCHEDULE: '100ms,200ms,300ms,400ms',
      WEBHOOK_RETRY_JITTER: '0.1',
    },
  })
  await stack.startWorkers({ resolver })
}, 60_000)

afterAll(async () => {
  await stack.close()
  for (const socket of canarySockets) socket.destroy()
  await new Promise((resolve) => canary.close(resolve))
})

type Log = {
  event: { id: string }
  deliveries: {
    id: string
    channel: string
    status: string
    reason: string | null
    attempts: number
  }[]
  timeline: {
    deliveryId: string
    at: string
    status: string
    reason: string | null
    attempt: number | null
  }[]
}

async function eventLog(id: string): Promise<Log> {
  return (await (await stack.request(`/v1/events/${id}`)).json()) as Log
}

async function webhookOnly(subscriber: string, type = 'order.paid') {
  const res = await trigger(stack, {
    type,
    recipients: [subscriber],
    channels: ['webhook'],
    data: { n: 1 },
  })
  expect(res.status).toBe(202)
  await settled(stack)
  return eventLog(res.body.id)
}

describe('POST /v1/subscribers/:id/webhooks', () => {
  it('when the URL leads to a non-public address (by name or literal), answers 400 blocked_address and the canary sees 0', async () => {
    await addSubscriber(stack, 'ssrf-reg', {}, { webhook: false })
    const before = canaryHits

    const answers = await Promise.all(
      [
        `http://127.0.0.2:${canaryPort}/`,
        `http://private.example:${canaryPort}/`,
        'http://[::1]/',
        'http://169.254.169.254/latest/meta-data/',
        `http://0x7f.0.0.2:${canaryPort}/`,
      ].map(async (url) => {
        const res = await stack.request('/v1/subscribers/ssrf-reg/webhooks', { json: { url } })
        return { status: res.status, code: ((await res.json()) as { code: string }).code }
      })
    )

    expect(answers.every((a) => a.status === 400 && a.code === 'blocked_address')).toBe(true)
    expect(canaryHits - before).toBe(0)
  })

  it('when the name was public at registration and resolves to a private address at send, the attempt fails blocked_address and the canary sees 0', async () => {
    await addSubscriber(stack, 'ssrf-rebind', {}, { webhook: false })
    const registered = await stack.request('/v1/subscribers/ssrf-rebind/webhooks', {
      json: { url: `http://rebind.example:${canaryPort}/hook` },
    })
    expect(registered.status).toBe(201)
    const before = canaryHits

    const log = await webhookOnly('ssrf-rebind')

    expect(canaryHits - before).toBe(0)
    expect(log.deliveries[0]).toMatchObject({
      status: 'failed',
      reason: 'blocked_address',
      attempts: 5,
    })
  })
})

describe('webhook delivery', () => {
  it('when delivered, the receiver verifies the signature and applies the webhook-id once', async () => {
    const endpoint = await addSubscriber(stack, 'wh-ok')

    const log = await webhookOnly('wh-ok', 'invoice.created')

    expect(log.deliveries[0]).toMatchObject({ status: 'sent', attempts: 1 })
    const received = stack.receiver.applied.get(log.deliveries[0]!.id)
    expect(received?.payload).toMatchObject({ type: 'invoice.created', data: { n: 1 } })
    const [headers] = stack.receiver.attempts.get(log.deliveries[0]!.id)!
    expect(new Webhook(endpoint!.secret).verify(received!.raw, headers!)).toMatchObject({
      type: 'invoice.created',
    })
  })

  it('when the endpoint always fails, makes exactly 5 attempts spaced by the schedule (±10 %), then it goes to the dead-letter queue; a replay delivers once and a second replay does nothing', async () => {
    await addSubscriber(stack, 'wh-500')
    let failing = true
    stack.receiver.script((name) =>
      name === 'wh-500' && failing ? new Response('down', { status: 500 }) : undefined
    )

    const log = await webhookOnly('wh-500')
    const attempts = log.timeline.filter((s) => s.attempt !== null).map((s) => Date.parse(s.at))
    const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!)

    expect(log.deliveries[0]).toMatchObject({ status: 'failed', reason: 'http_500', attempts: 5 })
    expect(attempts).toHaveLength(5)
    const sent = stack.receiver.attempts.get(log.deliveries[0]!.id)!
    expect(new Set(sent.map((h) => h['webhook-id']))).toEqual(new Set([log.deliveries[0]!.id]))
    const stamps = sent.map((h) => Number(h['webhook-timestamp']))
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b))
    ;[100, 200, 300, 400].forEach((delay, i) => expect(gaps[i]).toBeGreaterThanOrEqual(delay * 0.9))
    // The move to the dead-letter queue follows the job's final failure (the worker's event).
    type Letter = { channel: string; jobId: string; deliveryId: string; reason: string }
    const letter = await waitFor(
      async () =>
        ((await (await stack.request('/v1/dead-letters')).json()) as Letter[]).find(
          (l) => l.deliveryId === log.deliveries[0]!.id
        ),
      { message: 'the delivery never reached the dead-letter queue' }
    )
    expect(letter).toMatchObject({ channel: 'webhook', reason: 'http_500' })

    failing = false
    const replay = await stack.request(`/v1/dead-letters/webhook/${letter.jobId}/replay`, {
      method: 'POST',
    })
    expect(replay.status).toBe(202)
    await waitFor(() => stack.receiver.applied.has(log.deliveries[0]!.id), {
      message: 'replay never delivered',
    })
    const again = await stack.request(`/v1/dead-letters/webhook/${letter.jobId}/replay`, {
      method: 'POST',
    })
    const callsAfter = stack.receiver.calls
    await settled(stack)

    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({ status: 'already-replayed' })
    expect(stack.receiver.calls).toBe(callsAfter)
    expect((await eventLog(log.event.id)).deliveries[0]).toMatchObject({ status: 'sent' })
    stack.receiver.script(undefined)
  })

  it('when the endpoint answers 410 Gone, makes 1 attempt, disables the endpoint, and the next event is suppressed without a call', async () => {
    await addSubscriber(stack, 'wh-410')
    stack.receiver.script((name) =>
      name === 'wh-410' ? new Response(null, { status: 410 }) : undefined
    )
    const callsBefore = stack.receiver.calls

    const first = await webhookOnly('wh-410')
    const second = await webhookOnly('wh-410')
    stack.receiver.script(undefined)

    expect(first.deliveries[0]).toMatchObject({ status: 'failed', reason: 'http_410', attempts: 1 })
    expect(stack.receiver.calls - callsBefore).toBe(1)
    expect(second.deliveries[0]).toMatchObject({
      status: 'suppressed',
      reason: 'endpoint_disabled',
    })
    const [endpoint] = (await (await stack.request('/v1/subscribers/wh-410/webhooks')).json()) as {
      status: string
      disabledReason: string
    }[]
    expect(endpoint).toMatchObject({ status: 'disabled', disabledReason: 'gone (HTTP 410)' })
  })

  it('when the endpoint redirects, the attempt counts as a failure and the Location is not followed', async () => {
    await addSubscriber(stack, 'wh-302')
    const before = canaryHits
    stack.receiver.script((name) =>
      name === 'wh-302'
        ? new Response(null, {
            status: 302,
            headers: { location: `http://127.0.0.2:${canaryPort}/` },
          })
        : undefined
    )

    const log = await webhookOnly('wh-302')
    stack.receiver.script(undefined)

    expect(log.deliveries[0]).toMatchObject({
      status: 'failed',
      reason: 'redirect_302',
      attempts: 5,
    })
    expect(canaryHits - before).toBe(0)
  })

  it('when the endpoint asks to Retry-After 1 s, the next attempt waits at least that long', async () => {
    await addSubscriber(stack, 'wh-429')
    let calls = 0
    stack.receiver.script((name) =>
      name === 'wh-429' && ++calls === 1
        ? new Response(null, { status: 429, headers: { 'retry-after': '1' } })
        : undefined
    )

    const log = await webhookOnly('wh-429')
    stack.receiver.script(undefined)
    const attempts = log.timeline.filter((s) => s.attempt !== null).map((s) => Date.parse(s.at))

    expect(log.deliveries[0]).toMatchObject({ status: 'sent', attempts: 2 })
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(1000)
  })

  it('when the secret is rotated, deliveries carry both signatures: a receiver on the old secret or on the new one verifies', async () => {
    const endpoint = await addSubscriber(stack, 'wh-rotate')
    const rotated = (await (
      await stack.request(`/v1/subscribers/wh-rotate/webhooks/${endpoint!.id}/rotate-secret`, {
        method: 'POST',
      })
    ).json()) as { secret: string }
    stack.receiver.trust('wh-rotate', [endpoint!.secret])

    const log = await webhookOnly('wh-rotate')

    stack.receiver.trust('wh-rotate', [rotated.secret])
    const next = await webhookOnly('wh-rotate')

    expect(rotated.secret).not.toBe(endpoint!.secret)
    expect(log.deliveries[0]).toMatchObject({ status: 'sent' })
    expect(next.deliveries[0]).toMatchObject({ status: 'sent' })
    const [headers] = stack.receiver.attempts.get(log.deliveries[0]!.id)!
    expect(headers!['webhook-signature']!.split(' ')).toHaveLength(2)
  })
})
