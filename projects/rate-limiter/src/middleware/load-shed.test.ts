import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { loadShed, type LoadShedEvent } from './load-shed.ts'
import type { LoadShedder } from './types.ts'

/** 4 slots for normal traffic, one more for critical: the smallest shedder the middleware drives. */
function shedder(): LoadShedder {
  let inFlight = 0
  return {
    get inFlight() {
      return inFlight
    },
    tryAcquire(priority) {
      if (inFlight >= (priority === 'critical' ? 5 : 4)) return undefined
      inFlight++
      return () => void inFlight--
    },
  }
}

/** Waits, a bounded number of event-loop turns, until `count` handlers are waiting. */
async function untilWaiting(gates: readonly unknown[], count: number): Promise<void> {
  for (let turn = 0; gates.length < count; turn++) {
    if (turn > 1000) throw new Error(`${gates.length} of ${count} requests reached the handler`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('loadShed', () => {
  it('when normal traffic fills its share, sheds it with 503 and still serves critical traffic', async () => {
    const events: LoadShedEvent[] = []
    const process = shedder()
    const gates: (() => void)[] = []
    const app = new Hono()
    app.get(
      '/p',
      loadShed({
        shedder: process,
        priority: (c) => (c.req.header('x-priority') === 'critical' ? 'critical' : 'normal'),
        onEvent: (event) => events.push(event),
      }),
      async (c) => {
        await new Promise<void>((resolve) => gates.push(resolve))
        return c.text('ok')
      }
    )
    const inFlight = Array.from({ length: 4 }, async () => app.request('/p'))
    await untilWaiting(gates, 4)

    const shed = await app.request('/p')
    const critical = app.request('/p', { headers: { 'x-priority': 'critical' } })
    await untilWaiting(gates, 5)
    for (const open of gates) open()

    expect(shed.status).toBe(503)
    expect(shed.headers.get('retry-after')).toBe('1')
    expect(await shed.json()).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity',
      title: 'Service Unavailable',
      status: 503,
      code: 'load_shed',
      detail: 'Shedding normal traffic: the server is at capacity.',
    })
    expect((await critical).status).toBe(200)
    expect((await Promise.all(inFlight)).every((r) => r.status === 200)).toBe(true)
    expect(process.inFlight).toBe(0)
    expect(events.filter((e) => e.type === 'shed')).toEqual([
      { type: 'shed', priority: 'normal', inFlight: 4 },
    ])
  })
})
