import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { createRoom, liveMemory, range, startChat, tokenFor } from './helpers.ts'
import { startRedisServer } from '@kit/testing'
import { startChatProcess, type ChatProcess } from './process.ts'
import { TestClient } from './ws-client.ts'

describe('liveness: heartbeat', () => {
  it('when 200 clients stop answering pings, all are terminated, no healthy one is, and no socket is left behind', async () => {
    const server = await startChat({
      HEARTBEAT_INTERVAL_MS: '1000',
      MAX_CONNECTIONS_PER_USER: '1000',
    })
    try {
      const token = await tokenFor(server.url, 'ada')
      const room = await createRoom(server.url, token)
      const healthy = await Promise.all(
        range(1, 20).map(() => TestClient.connect(server.wsUrl, token))
      )
      for (const client of healthy) await client.join(room)
      const silentToken = await tokenFor(server.url, 'ghost')
      const silent = await Promise.all(
        range(1, 200).map(async () => {
          const client = await TestClient.connect(server.wsUrl, silentToken)
          // Stops answering: a peer whose network vanished never sends the pong.
          ;(client.ws as unknown as { _autoPong: boolean })._autoPong = false
          return client
        })
      )
      const closed = Promise.all(silent.map((client) => client.closed))

      await closed
      await expect.poll(() => server.chat.gateway.stats().connections).toBe(20)

      expect(server.chat.gateway.stats().heartbeatTerminated).toBe(200)
      expect(server.chat.wss.clients.size).toBe(20)
      expect(healthy.every((client) => client.ws.readyState === client.ws.OPEN)).toBe(true)
      expect((await healthy[0]!.say(room, 'still here')).type).toBe('ack')
    } finally {
      await server.stop()
    }
  })
})

describe('liveness: slow consumers', () => {
  it('when one client stops reading during a 10 MB broadcast to 21, its queue stays under the watermark, the others get every message, and it resyncs after', async () => {
    const highWaterMark = 1024 * 1024
    const server = await startChat({
      HIGH_WATER_MARK_BYTES: String(highWaterMark),
      SLOW_CONSUMER_POLICY: 'drop',
      RATE_LIMIT_MESSAGES: '100000',
      MAX_CONNECTIONS_PER_USER: '1000',
    })
    try {
      const token = await tokenFor(server.url, 'ada')
      const room = await createRoom(server.url, token)
      const serverSockets: WebSocket[] = []
      server.chat.wss.on('connection', (ws) => serverSockets.push(ws))
      const light = { keepBodies: false }
      const readers = await Promise.all(
        range(1, 20).map(() => TestClient.connect(server.wsUrl, token, light))
      )
      for (const reader of readers) await reader.join(room)
      const slow = await TestClient.connect(server.wsUrl, token, light)
      const slowOnServer = serverSockets.at(-1)!
      await slow.join(room)
      slow.ws.pause()
      const liveBefore = await liveMemory()
      let peak = 0
      const sampler = setInterval(() => (peak = Math.max(peak, slowOnServer.bufferedAmount)), 2)

      const body = 'x'.repeat(16 * 1024)
      const messages = 640 // 10 MiB of bodies
      for (let i = 1; i <= messages; i++) {
        await readers[0]!.say(room, body, `big-${i}`)
      }
      for (const reader of readers)
        await expect.poll(() => reader.seqs(room).length, { timeout: 20_000 }).toBe(messages)
      clearInterval(sampler)
      const grown = (await liveMemory()) - liveBefore

      for (const reader of readers) expect(reader.seqs(room)).toEqual(range(1, messages))
      expect(server.chat.hub.stats().slowConsumers).toBeGreaterThan(0)
      // The policy applies at the watermark; one more tick's frames may be queued past it.
      expect(peak).toBeLessThan(highWaterMark + 64 * 1024)
      expect(grown).toBeLessThan(50 * 1024 * 1024)

      slow.ws.resume()
      const resync = await slow.until((f) => f.type === 'resync' && f.room === room, 20_000)
      await slow.join(room, slow.seqs(room).at(-1))
      await expect.poll(() => slow.seqs(room).length, { timeout: 20_000 }).toBe(messages)
      expect(resync).toMatchObject({ type: 'resync', room })
      expect(slow.seqs(room)).toEqual(range(1, messages))
    } finally {
      await server.stop()
    }
  })
})

describe('liveness: graceful shutdown', () => {
  it('when the process gets SIGTERM, every client is closed with 1001 and it exits 0 within 5 s', async () => {
    const child = await startChatProcess()
    try {
      const token = await tokenFor(child.url, 'ada')
      const clients = await Promise.all(
        range(1, 5).map(() => TestClient.connect(child.wsUrl, token))
      )

      const started = performance.now()
      child.kill('SIGTERM')
      const codes = await Promise.all(clients.map((client) => client.closed.then((c) => c.code)))
      const exit = await child.exited
      const elapsed = performance.now() - started

      expect(codes).toEqual([1001, 1001, 1001, 1001, 1001])
      expect(exit).toEqual({ code: 0, signal: null })
      expect(elapsed).toBeLessThan(5000)
    } finally {
      // A process that did not stop must not outlive the test.
      child.kill('SIGKILL')
    }
  })

  it('when Redis is down at SIGTERM, every client is still closed with 1001 and the process exits 0 within 5 s', async () => {
    const redis = await startRedisServer()
    let child: ChatProcess | undefined
    try {
      const started = await startChatProcess({
        REDIS_URL: redis.url,
        TOKEN_SECRET: 'a-test-secret-of-at-least-32-characters!',
      })
      child = started
      const token = await tokenFor(started.url, 'ada')
      const clients = await Promise.all(
        range(1, 3).map(() => TestClient.connect(started.wsUrl, token))
      )
      await redis.kill()

      const stopping = performance.now()
      started.kill('SIGTERM')
      const codes = await Promise.all(clients.map((client) => client.closed.then((c) => c.code)))
      const exit = await started.exited
      const elapsed = performance.now() - stopping

      expect(codes).toEqual([1001, 1001, 1001])
      expect(exit).toEqual({ code: 0, signal: null })
      expect(elapsed).toBeLessThan(5000)
    } finally {
      child?.kill('SIGKILL')
      await redis.stop()
    }
  })
})
