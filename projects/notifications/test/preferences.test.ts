import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'

// Preferences, critical bypass, quiet hours (the subscriber's zone; the DST and zone-boundary
// arithmetic is tested with a fake clock beside src/quiet-hours), digests and templates.
let stack: Stack

beforeAll(async () => {
  stack = await startStack()
  await stack.startWorkers()
}, 60_000)

afterAll(async () => {
  await stack.close()
})

type Log = {
  deliveries: { channel: string; status: string; reason: string | null }[]
  timeline: { status: string; reason: string | null; detail: string | null }[]
}

async function send(body: Record<string, unknown>): Promise<Log> {
  const res = await trigger(stack, body)
  expect(res.status).toBe(202)
  await settled(stack)
  return (await (await stack.request(`/v1/events/${res.body.id}`)).json()) as Log
}

const byChannel = (log: Log) =>
  Object.fromEntries(
    log.deliveries.map((d) => [d.channel, d.reason ? `${d.status}:${d.reason}` : d.status])
  )

/** Quiet hours around the present minute in UTC, so "now" is inside them. */
function quietNow() {
  const now = new Date()
  const hh = (h: number) => String(((h % 24) + 24) % 24).padStart(2, '0')
  return { start: `${hh(now.getUTCHours() - 1)}:00`, end: `${hh(now.getUTCHours() + 2)}:00` }
}

describe('preferences', () => {
  it('when a subscriber turned SMS off, and email off for one event type, those are suppressed as preference; the rest is sent', async () => {
    await addSubscriber(stack, 'pref-a', {
      preferences: { channels: { sms: false }, eventTypes: { 'promo.weekly': { email: false } } },
    })

    const promo = await send({ type: 'promo.weekly', recipients: ['pref-a'] })
    const receipt = await send({ type: 'order.receipt', recipients: ['pref-a'] })

    expect(byChannel(promo)).toEqual({
      email: 'suppressed:preference',
      sms: 'suppressed:preference',
      push: 'sent',
      webhook: 'sent',
      in_app: 'sent',
    })
    expect(byChannel(receipt)).toMatchObject({ email: 'sent', sms: 'suppressed:preference' })
  })

  it('when the event is critical, it bypasses the opt-outs', async () => {
    await addSubscriber(stack, 'pref-b', {
      preferences: { channels: { sms: false, email: false } },
    })

    const log = await send({
      type: 'security.alert',
      recipients: ['pref-b'],
      critical: true,
      channels: ['sms', 'email'],
    })

    expect(byChannel(log)).toEqual({ email: 'sent', sms: 'sent' })
  })

  it('when PUT /preferences has an unknown channel, answers 400 naming it', async () => {
    await addSubscriber(stack, 'pref-c', {}, { webhook: false })

    const res = await stack.request('/v1/subscribers/pref-c/preferences', {
      method: 'PUT',
      json: { channels: { fax: false } },
    })

    expect(res.status).toBe(400)
    expect(((await res.json()) as { errors: { path: string }[] }).errors[0]?.path).toMatch(
      /^channels/
    )
  })

  it('when a subscriber is unknown, every channel is suppressed with that reason', async () => {
    const log = await send({ type: 'a.b', recipients: ['nobody-here'], channels: ['email', 'sms'] })

    expect(byChannel(log)).toEqual({
      email: 'suppressed:unknown_subscriber',
      sms: 'suppressed:unknown_subscriber',
    })
  })
})

describe('quiet hours', () => {
  it('when it is within the subscriber quiet hours, email, SMS and push wait until they end (logged); in-app and webhooks go now', async () => {
    await addSubscriber(stack, 'quiet-a', { timezone: 'UTC', quietHours: quietNow() })

    const res = await trigger(stack, { type: 'news.letter', recipients: ['quiet-a'] })
    await settled(stack).catch(() => undefined)
    const log = (await (await stack.request(`/v1/events/${res.body.id}`)).json()) as Log

    expect(byChannel(log)).toEqual({
      email: 'suppressed:quiet_hours',
      sms: 'suppressed:quiet_hours',
      push: 'suppressed:quiet_hours',
      webhook: 'sent',
      in_app: 'sent',
    })
    expect(log.timeline.find((s) => s.reason === 'quiet_hours')?.detail).toMatch(
      /^until \d{4}-\d\d-\d\dT/
    )
    const delayed = await stack.api.queues.byChannel.sms.getDelayedCount()
    expect(delayed).toBeGreaterThan(0)
  })

  it('when the event is critical, quiet hours are bypassed', async () => {
    await addSubscriber(stack, 'quiet-b', { timezone: 'UTC', quietHours: quietNow() })

    const log = await send({
      type: 'security.alert',
      recipients: ['quiet-b'],
      critical: true,
      channels: ['sms'],
    })

    expect(byChannel(log)).toEqual({ sms: 'sent' })
  })

  it('when the time zone is not an IANA zone, answers 400 naming timezone', async () => {
    const res = await stack.request('/v1/subscribers/quiet-c', {
      method: 'PUT',
      json: { timezone: 'CET+1', quietHours: { start: '25:00', end: '07:00' } },
    })

    expect(res.status).toBe(400)
    const paths = ((await res.json()) as { errors: { path: string }[] }).errors
      .map((e) => e.path)
      .sort()
    expect(paths).toEqual(['quietHours.start', 'timezone'])
  })
})

describe('digests', () => {
  it('when a subscriber digests an event type over a window, each event is suppressed as digest and one message lists them all', async () => {
    await addSubscriber(
      stack,
      'digest-a',
      { preferences: { digest: { 'comment.created': 1 } } },
      { webhook: false }
    )
    const before = stack.providers.smtp.flatMap((p) => [...p.ledger.accepted.values()]).length

    const logs = []
    for (let n = 1; n <= 3; n++) {
      const res = await trigger(stack, {
        type: 'comment.created',
        recipients: ['digest-a'],
        channels: ['email'],
        data: { n },
      })
      logs.push(res.body.id)
    }
    await settled(stack)
    const first = (await (await stack.request(`/v1/events/${logs[0]}`)).json()) as Log
    // The window closes after 1 s; the digest delivery then goes out.
    const { waitFor } = await import('@kit/testing')
    const mail = await waitFor(
      () =>
        stack.providers.smtp
          .flatMap((p) => [...p.ledger.accepted.values()])
          .find((m) => m.to.includes('digest-a@example.com')),
      { timeoutMs: 15_000, message: 'no digest email' }
    )
    await settled(stack)

    expect(byChannel(first)).toEqual({ email: 'suppressed:digest' })
    expect(mail.subject).toBe('3 new comment.created')
    expect(mail.raw).toContain('"n":1')
    expect(mail.raw).toContain('"n":3')
    expect(
      stack.providers.smtp.flatMap((p) => [...p.ledger.accepted.values()]).length - before
    ).toBe(1)
  })
})

describe('PUT /v1/templates/:eventType/:channel', () => {
  it('when a template is set, deliveries render it with the event data (LiquidJS)', async () => {
    await addSubscriber(stack, 'tpl-a', {}, { webhook: false })
    const put = await stack.request('/v1/templates/order.shipped/sms', {
      method: 'PUT',
      json: { text: 'Order {{ event.data.orderId }} shipped to {{ subscriber.id }}' },
    })

    await send({
      type: 'order.shipped',
      recipients: ['tpl-a'],
      channels: ['sms'],
      data: { orderId: 'A-17' },
    })
    const texts = stack.providers.sms
      .flatMap((p) => [...p.ledger.accepted.values()])
      .map((m) => (m as { text: string }).text)

    expect(put.status).toBe(200)
    expect(texts).toContain('Order A-17 shipped to tpl-a')
  })

  it('when a template does not parse or has a field the channel lacks, answers 400', async () => {
    const broken = await stack.request('/v1/templates/x.y/email', {
      method: 'PUT',
      json: { subject: '{{ unclosed' },
    })
    const unknown = await stack.request('/v1/templates/x.y/sms', {
      method: 'PUT',
      json: { subject: 'no' },
    })

    expect(broken.status).toBe(400)
    expect(((await broken.json()) as { code: string }).code).toBe('invalid_template')
    expect(unknown.status).toBe(400)
    expect(((await unknown.json()) as { errors: { path: string }[] }).errors[0]?.path).toBe(
      'subject'
    )
  })
})
