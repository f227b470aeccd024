import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addSubscriber, settled, startStack, trigger, type Stack } from './helpers.ts'
import { openSse } from './sse-client.ts'

// N9: the in-app channel. Items are written to SQLite by the worker, announced over Redis, and
// pushed to open streams; a stream that reconnects with Last-Event-ID gets what it missed.
let stack: Stack

beforeAll(async () => {
  stack = await startStack()
  await stack.startWorkers()
}, 60_000)

afterAll(async () => {
  await stack.close()
})

function notify(subscriber: string, n: number) {
  return trigger(stack, {
    type: 'chat.mention',
    recipients: [subscriber],
    channels: ['in_app'],
    data: { n },
  })
}

type Page = {
  items: { id: number; data: { n: number }; readAt: string | null }[]
  nextCursor: number | null
  unread: number
}

describe('GET /v1/subscribers/:id/inbox/stream', () => {
  it('when an event is triggered, the open stream receives the item live', async () => {
    await addSubscriber(stack, 'inbox-live', {}, { webhook: false })
    const stream = await openSse(`${stack.url}/v1/subscribers/inbox-live/inbox/stream`)
    await stream.next('ready')

    await notify('inbox-live', 1)
    const event = await stream.next()
    stream.close()

    expect(JSON.parse(event.data)).toMatchObject({ title: 'chat.mention', data: { n: 1 } })
    expect(Number(event.id)).toBeGreaterThan(0)
  })

  it('when the stream drops and reconnects with Last-Event-ID, it backfills exactly the missed items, in order, then goes on live', async () => {
    await addSubscriber(stack, 'inbox-resume', {}, { webhook: false })
    const first = await openSse(`${stack.url}/v1/subscribers/inbox-resume/inbox/stream`)
    await first.next('ready')
    await notify('inbox-resume', 1)
    const seen = await first.next()
    first.close()

    for (let n = 2; n <= 6; n++) await notify('inbox-resume', n)
    await settled(stack)
    const second = await openSse(`${stack.url}/v1/subscribers/inbox-resume/inbox/stream`, {
      lastEventId: seen.id!,
    })
    const backfilled: number[] = []
    for (let i = 0; i < 5; i++) backfilled.push(Number((await second.next()).id))
    const ready = JSON.parse((await second.next('ready')).data) as { unread: number }
    await notify('inbox-resume', 7)
    const live = JSON.parse((await second.next()).data) as { data: { n: number } }
    second.close()
    const inbox = (await (
      await stack.request('/v1/subscribers/inbox-resume/inbox?limit=10')
    ).json()) as Page

    // Exactly the items after the one seen, each once, in the inbox's order (arrival: the worker
    // writes concurrently, so n=4 may arrive before n=3), oldest first.
    const missed = inbox.items
      .filter((item) => item.data.n >= 2 && item.data.n <= 6)
      .map((item) => item.id)
      .reverse()
    expect(backfilled).toEqual(missed)
    expect(backfilled.every((id) => id > Number(seen.id))).toBe(true)
    expect(live.data.n).toBe(7)
    expect(ready.unread).toBe(6)
    expect(second.pending().filter((e) => e.event === 'notification')).toEqual([])
  })
})

describe('GET /v1/subscribers/:id/inbox', () => {
  it('when read page by page with the cursor, lists every item once, newest first, with the unread count', async () => {
    await addSubscriber(stack, 'inbox-pages', {}, { webhook: false })
    for (let n = 1; n <= 7; n++) await notify('inbox-pages', n)
    await settled(stack)

    const seen: number[] = []
    const ids: number[] = []
    let cursor: number | null = null
    let unread: number | undefined
    do {
      const page = (await (
        await stack.request(
          `/v1/subscribers/inbox-pages/inbox?limit=3${cursor ? `&cursor=${cursor}` : ''}`
        )
      ).json()) as Page
      seen.push(...page.items.map((i) => i.data.n))
      ids.push(...page.items.map((i) => i.id))
      unread = page.unread
      cursor = page.nextCursor
    } while (cursor !== null)

    // Items are ordered by arrival (the worker writes them concurrently), each exactly once.
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(ids).toEqual([...ids].sort((a, b) => b - a))
    expect(unread).toBe(7)
  })

  it('when items are marked read, the unread count equals the unread rows in SQLite', async () => {
    await addSubscriber(stack, 'inbox-read', {}, { webhook: false })
    for (let n = 1; n <= 4; n++) await notify('inbox-read', n)
    await settled(stack)
    const page = (await (await stack.request('/v1/subscribers/inbox-read/inbox')).json()) as Page

    const read = await stack.request(`/v1/subscribers/inbox-read/inbox/${page.items[0]!.id}/read`, {
      method: 'POST',
    })
    const missing = await stack.request('/v1/subscribers/inbox-read/inbox/999999/read', {
      method: 'POST',
    })
    const count = (await (
      await stack.request('/v1/subscribers/inbox-read/inbox/unread-count')
    ).json()) as { unread: number }
    const rows = stack.api.sqlite
      .prepare(
        "SELECT count(*) AS n FROM inbox_items WHERE subscriber_id = 'inbox-read' AND read_at IS NULL"
      )
      .get() as { n: number }
    const all = (await (
      await stack.request('/v1/subscribers/inbox-read/inbox/read-all', { method: 'POST' })
    ).json()) as { updated: number }

    expect(read.status).toBe(200)
    expect(((await read.json()) as { readAt: string | null }).readAt).not.toBeNull()
    expect(missing.status).toBe(404)
    expect(count.unread).toBe(3)
    expect(rows.n).toBe(3)
    expect(all.updated).toBe(3)
  })
})
