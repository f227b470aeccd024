import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'

let stack: Stack

beforeAll(async () => {
  stack = await startStack()
  await stack.startWorkers()
})

afterAll(async () => {
  await stack.close()
})

function eventsOfType(type: string): number {
  return (
    stack.api.sqlite.prepare('SELECT count(*) AS n FROM events WHERE type = ?').get(type) as {
      n: number
    }
  ).n
}

describe('POST /v1/events', () => {
  it('when the body is invalid, answers 400 problem details naming each field, and stores nothing', async () => {
    const res = await stack.request('/v1/events', {
      json: { type: 'bad type!', recipients: [], extra: 1 },
    })

    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const body = (await res.json()) as { code: string; errors: { path: string }[] }
    expect(body.code).toBe('validation_failed')
    expect(body.errors.map((e) => e.path).sort()).toEqual(['extra', 'recipients', 'type'])
    expect(eventsOfType('bad type!')).toBe(0)
  })

  it('when the body is not JSON, answers 400 malformed_json', async () => {
    const res = await stack.request('/v1/events', {
      method: 'POST',
      body: '{"type":',
      headers: { 'content-type': 'application/json' },
    })

    expect(res.status).toBe(400)
    expect(((await res.json()) as { code: string }).code).toBe('malformed_json')
  })

  it('when the body is over 256 KiB, answers 413', async () => {
    const res = await stack.request('/v1/events', {
      json: { type: 'big.one', recipients: ['a'], data: { blob: 'x'.repeat(300 * 1024) } },
    })

    expect(res.status).toBe(413)
  })

  it('when accepted, answers 202 with the event id after storing it with its outbox message, then fans it out', async () => {
    await addSubscriber(stack, 'trig-1')

    const res = await trigger(stack, {
      type: 'order.shipped',
      recipients: ['trig-1'],
      data: { orderId: 1 },
    })

    expect(res.status).toBe(202)
    expect(res.body).toMatchObject({ type: 'order.shipped', recipients: 1, status: 'accepted' })
    expect(res.headers.get('location')).toBe(`/v1/events/${res.body.id}`)
    await settled(stack)
    const log = (await (await stack.request(`/v1/events/${res.body.id}`)).json()) as {
      summary: Record<string, number>
    }
    expect(log.summary).toEqual({ sent: 5 })
  })
})

describe('POST /v1/events with Idempotency-Key', () => {
  it('when the same key and body come 10 times, answers the same 202 each time and fans out once', async () => {
    await addSubscriber(stack, 'idem-1')
    const body = { type: 'idem.same', recipients: ['idem-1'], data: { n: 1 } }

    const answers = []
    for (let i = 0; i < 10; i++)
      answers.push(await trigger(stack, body, { 'idempotency-key': 'key-same-10' }))
    await settled(stack)

    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([202]))
    expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1)
    expect(answers.slice(1).every((a) => a.headers.get('idempotent-replayed') === 'true')).toBe(
      true
    )
    expect(eventsOfType('idem.same')).toBe(1)
    const deliveries = stack.api.sqlite
      .prepare('SELECT count(*) AS n FROM deliveries WHERE event_id = ?')
      .get(answers[0]!.body.id) as { n: number }
    expect(deliveries.n).toBe(5)
  })

  it('when 20 duplicates arrive at once, one event is stored and all 20 answers are equal', async () => {
    const body = { type: 'idem.concurrent', recipients: ['idem-1'], data: { n: 2 } }

    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        trigger(stack, body, { 'idempotency-key': 'key-concurrent-20' })
      )
    )

    expect(eventsOfType('idem.concurrent')).toBe(1)
    expect(new Set(answers.map((a) => `${a.status} ${JSON.stringify(a.body)}`)).size).toBe(1)
  })

  it('when the same key comes with another body, answers 422 naming the key, and stores nothing new', async () => {
    await trigger(
      stack,
      { type: 'idem.first', recipients: ['idem-1'] },
      { 'idempotency-key': 'key-reused' }
    )

    const res = await stack.request('/v1/events', {
      json: { type: 'idem.second', recipients: ['idem-1'] },
      headers: { 'idempotency-key': 'key-reused' },
    })

    expect(res.status).toBe(422)
    const problem = (await res.json()) as { code: string; errors: { path: string }[] }
    expect(problem.code).toBe('idempotency_key_reused')
    expect(problem.errors[0]?.path).toBe('idempotency-key')
    expect(eventsOfType('idem.second')).toBe(0)
  })

  it('when the body only differs in key order, it is the same request', async () => {
    const first = await trigger(
      stack,
      { type: 'idem.order', recipients: ['idem-1'], data: { a: 1, b: 2 } },
      { 'idempotency-key': 'key-order' }
    )

    const second = await trigger(
      stack,
      { data: { b: 2, a: 1 }, recipients: ['idem-1'], type: 'idem.order' },
      { 'idempotency-key': 'key-order' }
    )

    expect(second.status).toBe(202)
    expect(second.body.id).toBe(first.body.id)
  })
})
