import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { api, createRoom, range, startChat, tokenFor, type RunningChat } from './helpers.ts'
import { TestClient, type Frame } from './ws-client.ts'

const SECRET = 'a-test-secret-of-at-least-32-characters!'
const modes: [string, () => Record<string, string>][] = [
  ['embedded (SQLite, in-process fan-out)', () => ({})],
  [
    'Redis (Streams + pub/sub)',
    () => ({
      REDIS_URL: process.env.REDIS_URL!,
      KEY_PREFIX: `test-${randomUUID()}:`,
      TOKEN_SECRET: SECRET,
    }),
  ],
]

describe.each(modes)('the guarantee ladder, %s', (_mode, env) => {
  let server: RunningChat
  beforeAll(async () => {
    // The per-connection rate limit has its own test; these clients send hundreds of frames.
    server = await startChat({ RATE_LIMIT_MESSAGES: '100000', ...env() })
    return () => server.stop()
  })
  const user = (name: string) => `${name}-${randomUUID().slice(0, 8)}`

  async function connected(name: string) {
    const token = await tokenFor(server.url, name)
    return { token, client: await TestClient.connect(server.wsUrl, token) }
  }

  it('when two senders interleave, the server assigns 1..n in the room and every client sees the seq its ack announced', async () => {
    const a = await connected(user('ada'))
    const b = await connected(user('bob'))
    const room = await createRoom(server.url, a.token)
    await a.client.join(room)
    await b.client.join(room)

    const acks = await Promise.all(
      range(1, 40).map((i) => (i % 2 ? a.client : b.client).say(room, `m${i}`, `m${i}`))
    )

    expect(acks.map((ack) => ack.seq).sort((x, y) => x! - y!)).toEqual(range(1, 40))
    await expect.poll(() => b.client.seqs(room).length).toBe(40)
    const bySeq = new Map(b.client.messages(room).map((m) => [m.seq, m.clientId]))
    for (const ack of acks) expect(bySeq.get(ack.seq)).toBe(ack.clientId)
  })

  it('when a message is delivered, it is already stored: the log holds each seq the moment a client sees it', async () => {
    const a = await connected(user('ada'))
    const listener = await connected(user('lee'))
    const room = await createRoom(server.url, a.token)
    await a.client.join(room)
    await listener.client.join(room)
    const lookups: Promise<boolean>[] = []
    listener.client.ws.on('message', (data) => {
      const frame = JSON.parse((data as Buffer).toString()) as Frame
      if (frame.type !== 'message') return
      lookups.push(
        server.chat.log
          .range(room, { after: frame.seq! - 1, limit: 1 })
          .then((found) => found[0]?.clientId === frame.clientId)
      )
    })

    for (let i = 1; i <= 100; i++)
      a.client.send({ type: 'send', room, clientId: `s${i}`, body: `m${i}` })

    await expect.poll(() => lookups.length).toBe(100)
    expect(await Promise.all(lookups)).toEqual(lookups.map(() => true))
  })

  it('when history is paged with after/next and before/prev, every message comes once, in order; bad cursors get 400 naming the field', async () => {
    const a = await connected(user('ada'))
    const room = await createRoom(server.url, a.token)
    await a.client.join(room)
    for (let i = 1; i <= 45; i++) await a.client.say(room, `m${i}`)
    type Page = { messages: { seq: number }[]; prev: number | null; next: number | null }

    const forward: number[] = []
    for (let after: number | null = 0; after !== null;) {
      const { body }: { body: Page } = await api<Page>(
        server.url,
        a.token,
        'GET',
        `/rooms/${room}/messages?after=${after}&limit=10`
      )
      forward.push(...body.messages.map((m) => m.seq))
      after = body.next
    }
    const backward: number[] = []
    for (let before: number | null | undefined; before !== null;) {
      const query: string = before === undefined ? '' : `&before=${before}`
      const { body }: { body: Page } = await api<Page>(
        server.url,
        a.token,
        'GET',
        `/rooms/${room}/messages?limit=10${query}`
      )
      backward.unshift(...body.messages.map((m) => m.seq))
      before = body.prev
    }
    const both = await api<{ errors: { path: string }[] }>(
      server.url,
      a.token,
      'GET',
      `/rooms/${room}/messages?after=1&before=9`
    )
    const zero = await api<{ errors: { path: string }[] }>(
      server.url,
      a.token,
      'GET',
      `/rooms/${room}/messages?limit=0`
    )

    expect(forward).toEqual(range(1, 45))
    expect(backward).toEqual(range(1, 45))
    expect([both.status, both.body.errors.map((e) => e.path)]).toEqual([400, ['before']])
    expect([zero.status, zero.body.errors.map((e) => e.path)]).toEqual([400, ['limit']])
  })

  it('when a client reconnects with the last seq it saw, it gets exactly the 500 it missed, in order, then live ones', async () => {
    const a = await connected(user('ada'))
    const b = await connected(user('bob'))
    const room = await createRoom(server.url, a.token)
    await a.client.join(room)
    await b.client.join(room)
    for (let i = 1; i <= 20; i++) await a.client.say(room, `before ${i}`)
    await expect.poll(() => b.client.seqs(room).length).toBe(20)
    const lastSeen = b.client.seqs(room).at(-1)!
    b.client.close()
    await b.client.closed

    const sends = range(1, 500).map((i) => a.client.say(room, `missed ${i}`))
    await Promise.all(sends)
    const again = await TestClient.connect(server.wsUrl, b.token)
    await again.join(room, lastSeen)
    await a.client.say(room, 'live')

    await expect.poll(() => again.seqs(room).length).toBe(501)
    expect(again.seqs(room)).toEqual(range(21, 521))
    expect(again.messages(room).at(-1)!.body).toBe('live')
  })

  it('when a client retries a message id after a lost ack, the retry is acknowledged with the same seq and stored once', async () => {
    const a = await connected(user('ada'))
    const b = await connected(user('bob'))
    const room = await createRoom(server.url, a.token)
    await a.client.join(room)
    await b.client.join(room)

    const first = await a.client.say(room, 'only once', 'retry-me')
    const retry = await a.client.say(room, 'only once', 'retry-me')
    const retryOnNewSocket = await (
      await TestClient.connect(server.wsUrl, a.token)
    )
      .join(room)
      .then(async () => {
        const other = await TestClient.connect(server.wsUrl, a.token)
        await other.join(room)
        return other.say(room, 'only once', 'retry-me')
      })
    await a.client.say(room, 'next one')

    expect(first).toMatchObject({ type: 'ack', seq: 1, duplicate: false })
    expect(retry).toMatchObject({ type: 'ack', seq: 1, duplicate: true })
    expect(retryOnNewSocket).toMatchObject({ type: 'ack', seq: 1, duplicate: true })
    await expect.poll(() => b.client.seqs(room)).toEqual([1, 2])
    const { body } = await api<{ messages: unknown[] }>(
      server.url,
      a.token,
      'GET',
      `/rooms/${room}/messages`
    )
    expect(body.messages).toHaveLength(2)
  })

  it('when a member was offline, their rooms show what they missed and joining without since delivers exactly that', async () => {
    const a = await connected(user('ada'))
    const bobName = user('bob')
    const b = await connected(bobName)
    const room = await createRoom(server.url, a.token)
    await a.client.join(room)
    await b.client.join(room)
    for (let i = 1; i <= 5; i++) await a.client.say(room, `seen ${i}`)
    await expect.poll(() => b.client.seqs(room).length).toBe(5)
    b.client.send({ type: 'read', room, seq: 5 })
    await a.client.until((f) => f.type === 'read' && f.user === bobName)
    b.client.close()

    for (let i = 1; i <= 7; i++) await a.client.say(room, `missed ${i}`)
    const { body } = await api<{
      rooms: { id: string; unread: number; lastRead: number; head: number }[]
    }>(server.url, b.token, 'GET', '/rooms')
    const back = await TestClient.connect(server.wsUrl, b.token)
    const joined = await back.join(room)

    expect(body.rooms.find((r) => r.id === room)).toMatchObject({
      head: 12,
      lastRead: 5,
      unread: 7,
    })
    expect(joined).toMatchObject({ since: 5 })
    expect(back.seqs(room)).toEqual(range(6, 12))
  })

  it('when read receipts arrive, they only move forward, reach the others and show in the member list', async () => {
    const a = await connected(user('ada'))
    const bobName = user('bob')
    const b = await connected(bobName)
    const room = await createRoom(server.url, a.token)
    await a.client.join(room)
    await b.client.join(room)
    for (let i = 1; i <= 6; i++) await a.client.say(room, `m${i}`)

    b.client.send({ type: 'read', room, seq: 4 })
    b.client.send({ type: 'read', room, seq: 2 })
    b.client.send({ type: 'read', room, seq: 60 })
    const beyond = await b.client.until((f) => f.type === 'error')
    await expect
      .poll(() => a.client.frames.filter((f) => f.type === 'read' && f.user === bobName).length)
      .toBe(2)
    const { body } = await api<{ members: { user: string; lastRead: number }[] }>(
      server.url,
      a.token,
      'GET',
      `/rooms/${room}/members`
    )
    const http = await api<{ lastRead: number }>(
      server.url,
      b.token,
      'PUT',
      `/rooms/${room}/read`,
      { seq: 3 }
    )

    expect(beyond).toMatchObject({ code: 'invalid_frame', errors: [{ path: 'seq' }] })
    expect(
      a.client.frames.filter((f) => f.type === 'read' && f.user === bobName).map((f) => f.seq)
    ).toEqual([4, 4])
    expect(body.members.find((m) => m.user === bobName)?.lastRead).toBe(4)
    expect(http.body.lastRead).toBe(4)
  })

  it('when someone types on every keystroke, the others see one typing event per throttle interval', async () => {
    const a = await connected(user('ada'))
    const bobName = user('bob')
    const b = await connected(bobName)
    const room = await createRoom(server.url, a.token)
    await a.client.join(room)
    await b.client.join(room)

    for (let i = 0; i < 20; i++) b.client.send({ type: 'typing', room })
    await b.client.say(room, 'done typing')

    await expect.poll(() => a.client.seqs(room).length).toBe(1)
    expect(a.client.frames.filter((f) => f.type === 'typing' && f.user === bobName)).toHaveLength(1)
  })

  it('when members come and go, the others get presence events and join answers who is online', async () => {
    const adaName = user('ada')
    const bobName = user('bob')
    const a = await connected(adaName)
    const b = await connected(bobName)
    const room = await createRoom(server.url, a.token)
    await a.client.join(room)

    const joined = await b.client.join(room)
    await a.client.until((f) => f.type === 'presence' && f.user === bobName && f.online === true)
    const members = await api<{ members: { user: string; online: boolean }[] }>(
      server.url,
      a.token,
      'GET',
      `/rooms/${room}/members`
    )
    b.client.close()
    await a.client.until((f) => f.type === 'presence' && f.user === bobName && f.online === false)

    expect(joined.online).toEqual([adaName, bobName].sort())
    expect(members.body.members.map((m) => [m.user, m.online])).toEqual(
      [
        [adaName, true],
        [bobName, true],
      ].sort()
    )
  })

  it('when a socket sends leave, it gets left, no more messages of that room (its other rooms go on), and the others see it offline and gone', async () => {
    const adaName = user('ada')
    const bobName = user('bob')
    const a = await connected(adaName)
    const b = await connected(bobName)
    const room = await createRoom(server.url, a.token, 'left')
    const other = await createRoom(server.url, a.token, 'kept')
    for (const client of [a.client, b.client]) {
      await client.join(room)
      await client.join(other)
    }
    await a.client.say(room, 'before')
    await b.client.until((f) => f.type === 'message' && f.room === room && f.seq === 1)

    const left = b.client.next((f) => f.type === 'left')
    b.client.send({ type: 'leave', room })
    expect(await left).toMatchObject({ type: 'left', room })
    await a.client.until(
      (f) => f.type === 'presence' && f.room === room && f.user === bobName && f.online === false
    )
    await a.client.until(
      (f) => f.type === 'member' && f.room === room && f.user === bobName && f.joined === false
    )
    await a.client.say(room, 'after')
    await a.client.say(other, 'marker')
    // The marker was published after "after": once bob has it, "after" would have come first.
    await b.client.until((f) => f.type === 'message' && f.room === other && f.body === 'marker')
    const members = await api<{ members: { user: string }[] }>(
      server.url,
      a.token,
      'GET',
      `/rooms/${room}/members`
    )
    const rejoined = await (await connected(user('cy'))).client.join(room)

    expect(b.client.seqs(room)).toEqual([1])
    expect(a.client.seqs(room)).toEqual([1, 2])
    expect(members.body.members.map((m) => m.user)).toEqual([adaName])
    expect(rejoined.online).toEqual(expect.not.arrayContaining([bobName]))
    expect(rejoined.online).toContain(adaName)
    expect(b.client.ws.readyState).toBe(b.client.ws.OPEN)
  })

  it('when two users open their direct room, only they can join or read it', async () => {
    const a = await connected(user('ada'))
    const bobName = user('bob')
    const b = await connected(bobName)
    const c = await connected(user('cy'))

    const opened = await api<{ id: string; kind: string }>(
      server.url,
      a.token,
      'POST',
      '/rooms/direct',
      { with: bobName }
    )
    const again = await api<{ id: string }>(server.url, b.token, 'POST', '/rooms/direct', {
      with: a.client.frames[0]!.user,
    })
    const room = opened.body.id
    await a.client.join(room)
    await b.client.join(room)
    c.client.send({ type: 'join', room })
    const refused = await c.client.until((f) => f.type === 'error')
    const history = await api(server.url, c.token, 'GET', `/rooms/${room}/messages`)
    const joinHttp = await api(server.url, c.token, 'POST', `/rooms/${room}/members`)
    await a.client.say(room, 'just us')

    expect([opened.status, opened.body.kind, again.status, again.body.id]).toEqual([
      201,
      'direct',
      200,
      room,
    ])
    expect(refused).toMatchObject({ code: 'forbidden', errors: [{ path: 'room' }] })
    expect([history.status, joinHttp.status]).toEqual([403, 403])
    await expect.poll(() => b.client.seqs(room)).toEqual([1])
  })
})
