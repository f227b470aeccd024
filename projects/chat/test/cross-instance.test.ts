import { randomUUID } from 'node:crypto'
import Database from 'better-sqlite3'
import { startRedisCluster, type RedisCluster } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, createRoom, range, startChat, tokenFor, type RunningChat } from './helpers.ts'
import { startChatProcess, type ChatProcess } from './process.ts'
import { HandshakeRefused, TestClient } from './ws-client.ts'

const SECRET = 'a-test-secret-of-at-least-32-characters!'
const shared = (backend: Record<string, string>) => ({
  ...backend,
  KEY_PREFIX: `test-${randomUUID()}:`,
  TOKEN_SECRET: SECRET,
})

let cluster: RedisCluster
beforeAll(async () => {
  cluster = await startRedisCluster()
  return () => cluster.stop()
}, 60_000)

describe.each([
  ['one Redis', () => ({ REDIS_URL: process.env.REDIS_URL! })],
  ['a Redis Cluster', () => ({ REDIS_CLUSTER_NODES: cluster.urls })],
])('logout across two instance processes behind %s', (_name, backend) => {
  let processes: ChatProcess[] = []
  beforeAll(async () => {
    const env = shared(backend())
    // Kept as each starts, so the hook below kills them even if the other fails to start.
    processes = []
    await Promise.all(
      [1, 2].map(async () => {
        processes.push(await startChatProcess(env))
      })
    )
  }, 60_000)
  afterAll(async () => {
    for (const child of processes) child.kill('SIGKILL')
    await Promise.all(processes.map((child) => child.exited))
  })

  it("when a user logs out on one instance, their socket on the other closes with 1008 and the other's users stay", async () => {
    const [here, there] = processes as [ChatProcess, ChatProcess]
    const user = `leaving-${randomUUID().slice(0, 8)}`
    const token = await tokenFor(here.url, user)
    // Only the other instance's gateway can close this socket: the logout must reach it.
    const remote = await TestClient.connect(there.wsUrl, token)
    const local = await TestClient.connect(here.wsUrl, token)
    const bystander = await TestClient.connect(there.wsUrl, await tokenFor(there.url, 'staying'))

    const { status } = await api(here.url, token, 'POST', '/logout')
    const timeout = new Promise<'still open'>((resolve) =>
      setTimeout(() => resolve('still open'), 10_000).unref()
    )
    const [remoteClose, localClose] = await Promise.all(
      [remote, local].map((client) => Promise.race([client.closed, timeout]))
    )

    expect(status).toBe(204)
    expect(remoteClose).toMatchObject({ code: 1008 })
    expect(localClose).toMatchObject({ code: 1008 })
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN)
    await expect(TestClient.connect(there.wsUrl, token)).rejects.toEqual(new HandshakeRefused(401))
    bystander.close()
  })
})

describe('archived history (older than the stream bounds) across instances with their own DB_FILE', () => {
  let writer: RunningChat
  let sharer: RunningChat
  let stranger: RunningChat
  beforeAll(async () => {
    const env = shared({ REDIS_URL: process.env.REDIS_URL!, HISTORY_MAX_LENGTH: '5' })
    writer = await startChat(env)
    sharer = await startChat({ ...env, DB_FILE: writer.dbFile })
    stranger = await startChat(env)
    return async () => {
      await Promise.all([writer, sharer, stranger].map((instance) => instance.stop()))
    }
  })

  /** Every seq the history API of `url` pages through from the start (after=0, following next). */
  async function pagedSeqs(url: string, token: string, room: string): Promise<number[]> {
    const seqs: number[] = []
    for (let after = 0; ;) {
      const { body } = await api<{ messages: { seq: number }[]; next: number | null }>(
        url,
        token,
        'GET',
        `/rooms/${room}/messages?after=${after}&limit=4`
      )
      seqs.push(...body.messages.map((m) => m.seq))
      if (body.next === null) return seqs
      after = body.next
    }
  }

  it('when 12 messages went through a stream bounded to 5, the writer and an instance on its file page all 12; an instance on another file pages only the stream', async () => {
    const token = await tokenFor(writer.url, 'owner')
    const room = await createRoom(writer.url, token)
    const client = await TestClient.connect(writer.wsUrl, token)
    await client.join(room)
    const writerFile = new Database(writer.dbFile, { readonly: true })
    const archivedHead = () =>
      (
        writerFile.prepare('SELECT max(seq) AS head FROM messages WHERE room = ?').get(room) as {
          head: number | null
        }
      ).head
    // Bursts smaller than the bound, each copied into the writer's file (a second after its
    // appends) before the next pushes it off the stream.
    for (const burst of [1, 2, 3]) {
      for (const i of range(burst * 4 - 3, burst * 4)) await client.say(room, `m${i}`)
      await expect.poll(archivedHead, { timeout: 10_000 }).toBe(burst * 4)
    }
    writerFile.close()
    client.close()

    const fromWriter = await pagedSeqs(writer.url, token, room)
    const onSharedFile = await pagedSeqs(sharer.url, token, room)
    const own = await pagedSeqs(stranger.url, token, room)
    const olderOnStranger = await api<{ messages: unknown[]; prev: number | null }>(
      stranger.url,
      token,
      'GET',
      `/rooms/${room}/messages?before=8&limit=50`
    )
    const olderOnSharer = await api<{ messages: { seq: number }[] }>(
      sharer.url,
      token,
      'GET',
      `/rooms/${room}/messages?before=8&limit=50`
    )

    expect(fromWriter).toEqual(range(1, 12))
    expect(onSharedFile).toEqual(range(1, 12))
    expect(own).toEqual(range(8, 12))
    expect(olderOnStranger.body).toMatchObject({ messages: [], prev: null })
    expect(olderOnSharer.body.messages.map((m) => m.seq)).toEqual(range(1, 7))
  })
})
