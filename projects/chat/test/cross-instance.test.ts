import { randomUUID } from 'node:crypto'
import { startRedisCluster, type RedisCluster } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, tokenFor } from './helpers.ts'
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
