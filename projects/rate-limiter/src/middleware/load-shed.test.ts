import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { createPriorityLoadShedder } from '../load-shedding/priority-load-shedder.ts'
import { loadShed, type LoadShedEvent } from './load-shed.ts'

describe('loadShed', () => {
  it('when normal traffic fills its share, sheds it with 503 and still serves critical traffic', async () => {
    const events: LoadShedEvent[] = []
    const shedder = createPriorityLoadShedder({ capacity: 5 }) // 4 normal + 1 reserved
    const gates: Array<() => void> = []
    const app = new Hono()
    app.get(
      '/p',
      loadShed({
        shedder,
        priority: (c) => (c.req.header('x-priority') === 'critical' ? 'critical' : 'normal'),
        onEvent: (event) => events.push(event),
      }),
      async (c) => {
        await new Promise<void>((resolve) => gates.push(resolve))
        return c.text('ok')
      }
    )
    const inFlight = Array.from({ length: 4 }, () => app.request('/p'))
    while (gates.length < 4) await new Promise((resolve) => setImmediate(resolve))

    const shed = await app.request('/p')
    const critical = app.request('/p', { headers: { 'x-priority': 'critical' } })
    while (gates.length < 5) await new Promise((resolve) => setImmediate(resolve))
    for (const open of gates) open()

    expect(shed.status).toBe(503)
    expect(shed.headers.get('retry-after')).toBe('1')
    expect(await shed.json()).toMatchObject({
      type: 'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity',
    })
    expect((await critical).status).toBe(200)
    expect((await Promise.all(inFlight)).every((r) => r.status === 200)).toBe(true)
    expect(shedder.inFlight).toBe(0)
    expect(events.filter((e) => e.type === 'shed')).toEqual([
      { type: 'shed', priority: 'normal', inFlight: 4 },
    ])
  })
})
