import { randomUUID } from 'node:crypto'
import { startRedisCluster, startRedisServer, type RedisCluster } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, createRoom, range, startChat, tokenFor, type RunningChat } from './helpers.ts'
import { startChatProcess, type ChatProcess } from './process.ts'
import { ResumingClient } from './resuming-client.ts'
import { TestClient } from './ws-client.ts'

const SECRET = 'a-test-secret-of-at-least-32-characters!'
const shared = (backend: Record<string, string>) => ({
  ...backend,
  KEY_PREFIX: `test-${randomUUID()}:`,
  TOKEN_SECRET: SECRET,
  RATE_LIMIT_MESSAGES: '100000',
  MAX_CONNECTIONS_PER_USER: '100',
  RESYNC_INTERVAL_MS: '500',
})

/** Every message the room holds, from the history API. */
async function history(url: string, token: string, room: string) {
  const all: { seq: number; clientId: string; sender: string; body: string }[] = []
  for (let after = 0; ;) {
    const { body } = await api<{ messages: typeof all; next: number | null }>(
      url,
      token,
      'GET',
      `/rooms/${room}/messages?after=${after}&limit=200`
    )
    all.push(...body.messages)
    if (body.next === null) return all
    after = body.next
  }
}

let cluster: RedisCluster
beforeAll(async () => {
  cluster = await startRedisCluster()
  return () => cluster.stop()
}, 60_000)

describe.each([
  ['one Redis (pub/sub)', () => ({ REDIS_URL: process.env.REDIS_URL! })],
  ['a Redis Cluster (sharded pub/sub)', () => ({ REDIS_CLUSTER_NODES: cluster.urls })],
])('three instances behind %s', (_name, backend) => {
  let instances: RunningChat[]
  beforeAll(async () => {
    const env = shared(backend())
    instances = await Promise.all([1, 2, 3].map(() => startChat(env)))
    return async () => {
      await Promise.all(instances.map((instance) => instance.stop()))
    }
  })

  it("when 10 senders spread over the instances send 500 messages, each of 30 clients gets all 500 once, in each sender's order", async () => {
    const urls = instances.map((instance) => instance.url)
    const owner = await tokenFor(urls[0]!, 'owner')
    const room = await createRoom(urls[0]!, owner)
    const clients = await Promise.all(
      range(0, 29).map(async (i) => {
        const token = await tokenFor(urls[i % 3]!, `user${i}`)
        await api(urls[i % 3]!, token, 'POST', `/rooms/${room}/members`)
        const client = await TestClient.connect(instances[i % 3]!.wsUrl, token, {
          keepBodies: true,
        })
        await client.join(room, 0)
        return client
      })
    )
    const senders = clients.slice(0, 10)

    // Each sender pipelines its 50 sends without waiting for acks.
    const acks = await Promise.all(
      senders.flatMap((sender, s) =>
        range(1, 50).map((i) => sender.say(room, `s${s}:${i}`, `s${s}-${i}`))
      )
    )

    expect(acks.every((ack) => ack.type === 'ack')).toBe(true)
    for (const client of clients) {
      await expect.poll(() => client.seqs(room).length, { timeout: 20_000 }).toBe(500)
    }
    for (const client of clients) {
      expect(client.seqs(room)).toEqual(range(1, 500))
      for (let s = 0; s < 10; s++) {
        const order = client
          .messages(room)
          .filter((m) => String(m.body).startsWith(`s${s}:`))
          .map((m) => Number(String(m.body).split(':')[1]))
        expect(order).toEqual(range(1, 50))
      }
    }
    for (const client of clients) client.close()
  })
})

describe('one Redis killed for a few seconds under three instances', () => {
  it('when Redis comes back, every client ends with exactly the history: 0 gaps, 0 duplicates, no message lost or doubled', async () => {
    // fsync on every write: an acknowledged message survives kill -9 (with everysec, the last
    // second could be lost; see the README).
    const redis = await startRedisServer({ appendonly: true, args: ['--appendfsync', 'always'] })
    const env = shared({ REDIS_URL: redis.url })
    const instances = await Promise.all([1, 2, 3].map(() => startChat(env)))
    try {
      const urls = instances.map((instance) => instance.wsUrl)
      const owner = await tokenFor(instances[0]!.url, 'owner')
      const room = await createRoom(instances[0]!.url, owner)
      const clients = await Promise.all(
        range(0, 14).map(async (i) => {
          const token = await tokenFor(instances[0]!.url, `user${i}`)
          await api(instances[0]!.url, token, 'POST', `/rooms/${room}/members`)
          const client = new ResumingClient({ urls, token, rooms: [room], first: i })
          await client.start()
          return client
        })
      )
      const senders = clients.slice(0, 5)

      const sent = senders.flatMap((sender, s) =>
        range(1, 60).map((i) => ({ sender, clientId: `s${s}-${i}` }))
      )
      let acked = 0
      const all = Promise.all(
        sent.map(async ({ sender, clientId }, n) => {
          // Spread over time, so the outage lands in the middle of the stream.
          await new Promise((resolve) => setTimeout(resolve, n * 10))
          await sender.send(room, clientId, clientId)
          acked++
        })
      )
      await expect.poll(() => acked, { timeout: 20_000 }).toBeGreaterThanOrEqual(60)
      await redis.kill()
      // The HTTP routes degrade visibly while Redis is away: 503 with a problem body, not 500.
      for (const path of [`/rooms/${room}/messages?after=0`, `/rooms/${room}/members`, '/rooms']) {
        const res = await api<{ code: string }>(instances[2]!.url, owner, 'GET', path)
        expect(res.status, path).toBe(503)
        expect(res.headers.get('retry-after'), path).toBe('1')
        expect(res.body.code, path).toBe('unavailable')
      }
      await new Promise((resolve) => setTimeout(resolve, 2500))
      await redis.restart()
      await all

      const stored = await history(instances[1]!.url, owner, room)
      expect(stored.map((m) => m.seq)).toEqual(range(1, stored.length))
      expect(stored.map((m) => m.clientId).sort()).toEqual(sent.map((s) => s.clientId).sort())
      for (const client of clients) {
        await expect
          .poll(() => client.received(room).length, { timeout: 20_000 })
          .toBe(stored.length)
        expect(client.received(room)).toEqual(range(1, stored.length))
        expect(client.duplicates).toBe(0)
      }
      for (const client of clients) client.stop()
    } finally {
      await Promise.all(instances.map((instance) => instance.stop()))
      await redis.stop()
    }
  })
})

describe('instances that stop (SIGTERM) or die (kill -9) under load', () => {
  let processes: ChatProcess[] = []
  afterAll(async () => {
    for (const child of processes) child.kill('SIGKILL')
    await Promise.all(processes.map((child) => child.exited))
  })

  it("when one instance is stopped and another killed, their clients resume on the third losslessly, and the dead one's users go offline", async () => {
    const env = shared({ REDIS_URL: process.env.REDIS_URL!, PRESENCE_TTL_MS: '1500' })
    // Kept as each starts, so afterAll kills them even if another fails to start.
    processes = []
    await Promise.all(
      [1, 2, 3].map(async () => {
        processes.push(await startChatProcess(env))
      })
    )
    const [first, second, third] = processes as [ChatProcess, ChatProcess, ChatProcess]
    const urls = processes.map((child) => child.wsUrl)
    const owner = await tokenFor(third.url, 'owner')
    const room = await createRoom(third.url, owner)
    const members = await Promise.all(
      range(0, 11).map(async (i) => {
        const token = await tokenFor(third.url, `user${i}`)
        await api(third.url, token, 'POST', `/rooms/${room}/members`)
        return token
      })
    )
    // Clients start on the first and second instances; after a drop, they move on in order.
    const clients = members.map(
      (token, i) => new ResumingClient({ urls, token, rooms: [room], first: i % 2 })
    )
    await Promise.all(clients.map((client) => client.start()))
    const ghostToken = await tokenFor(third.url, 'ghost')
    await api(third.url, ghostToken, 'POST', `/rooms/${room}/members`)
    const ghost = await TestClient.connect(second.wsUrl, ghostToken)
    await ghost.join(room)
    const watcher = await TestClient.connect(third.wsUrl, owner)
    expect((await watcher.join(room)).online).toContain('ghost')
    const sender = new ResumingClient({ urls: [third.wsUrl], token: owner, rooms: [room] })
    await sender.start()

    let n = 0
    const sending = (async () => {
      for (; n < 300; n++) {
        await sender.send(room, `m${n}`, `m${n}`)
        if (n % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })()
    await expect.poll(() => n, { timeout: 20_000 }).toBeGreaterThan(80)
    first.kill('SIGTERM')
    expect((await first.exited).code).toBe(0)
    await expect.poll(() => n, { timeout: 20_000 }).toBeGreaterThan(180)
    second.kill('SIGKILL')
    await sending

    const stored = await history(third.url, owner, room)
    expect(stored.map((m) => m.seq)).toEqual(range(1, 300))
    for (const client of clients) {
      await expect.poll(() => client.received(room).length, { timeout: 20_000 }).toBe(300)
      expect(client.received(room)).toEqual(range(1, 300))
      expect(client.duplicates).toBe(0)
    }
    const moved = clients.filter((client) => client.closeCodes.length > 0)
    expect(moved.length).toBe(12)
    expect(clients.filter((client) => client.closeCodes.includes(1001)).length).toBe(6)
    // The ghost never reconnects: its presence entry expires and the third instance reports it.
    await watcher.until(
      (f) => f.type === 'presence' && f.user === 'ghost' && f.online === false,
      15_000
    )
    const { body } = await api<{ members: { user: string; online: boolean }[] }>(
      third.url,
      owner,
      'GET',
      `/rooms/${room}/members`
    )
    expect(body.members.find((m) => m.user === 'ghost')?.online).toBe(false)
    for (const client of [...clients, sender]) client.stop()
    watcher.close()
  }, 90_000)
})
