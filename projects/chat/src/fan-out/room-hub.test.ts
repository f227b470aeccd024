import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { createLocalBus, createRedisBus, type Bus } from './bus.ts'
import { createRoomHub, type RoomHubOptions } from './room-hub.ts'

// Waits for what must arrive: up to 10 s, so a loaded machine is not a failure; the value is exact.
const eventually = { timeout: 10_000 }

type Message = { room: string; seq: number; body: string }

/** A room log in an array: enough for the hub, which only pages and reads the head. */
function memoryLog() {
  const rooms = new Map<string, Message[]>()
  const of = (room: string) => rooms.get(room) ?? (rooms.set(room, []), rooms.get(room)!)
  return {
    append(room: string, body: string): Message {
      const message = { room, seq: of(room).length + 1, body }
      of(room).push(message)
      return message
    },
    range(room: string, { after, limit }: { after: number; limit: number }) {
      return Promise.resolve(of(room).slice(after, after + limit))
    },
    head(room: string) {
      return Promise.resolve(of(room).length)
    },
  }
}

const encode = (m: Message) => JSON.stringify({ type: 'message', ...m })
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A ws server whose connections join room `r` of the hub (with ?since=N when given). */
async function serve(
  options: Partial<RoomHubOptions<Message>> & { log: ReturnType<typeof memoryLog> }
) {
  const hub = createRoomHub<Message>({
    bus: (receive) => createLocalBus({ onMessage: receive }),
    encode,
    ...options,
  })
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await once(wss, 'listening')
  const serverSockets: WebSocket[] = []
  wss.on('connection', (ws, req) => {
    serverSockets.push(ws)
    const since = new URL(req.url!, 'http://x').searchParams.get('since')
    ws.on('close', () => hub.disconnect(ws))
    ws.on('message', (data) => {
      const rejoin = JSON.parse((data as Buffer).toString()) as { since: number }
      void hub.join(ws, 'r', { since: rejoin.since }).then(() => ws.send('{"type":"joined"}'))
    })
    void hub
      .join(ws, 'r', since === null ? {} : { since: Number(since) })
      .then(() => ws.send('{"type":"joined"}'))
  })
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
  cleanups.push(async () => {
    for (const ws of wss.clients) ws.terminate()
    await new Promise((resolve) => wss.close(resolve))
    await hub.close()
  })
  return { hub, url, serverSockets }
}

/** A client that records every message frame and resolves `joined` on the join answer. */
async function client(url: string, since?: number) {
  const ws = new WebSocket(since === undefined ? url : `${url}/?since=${since}`)
  const seqs: number[] = []
  const frames: { type: string; seq?: number }[] = []
  let joins = 0
  ws.on('message', (data) => {
    const frame = JSON.parse((data as Buffer).toString()) as { type: string; seq?: number }
    frames.push(frame)
    if (frame.type === 'message') seqs.push(frame.seq!)
    if (frame.type === 'joined') joins++
  })
  await once(ws, 'open')
  await expect.poll(() => joins, eventually).toBe(1)
  cleanups.push(() => ws.terminate())
  return { ws, seqs, frames, joins: () => joins }
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('createRoomHub()', () => {
  it('when messages are published, every socket gets each once in order, framed once per message', async () => {
    const log = memoryLog()
    const { hub, url } = await serve({ log })
    const clients = await Promise.all(Array.from({ length: 20 }, () => client(url)))

    for (let i = 0; i < 50; i++) await hub.publish(log.append('r', `m${i}`))

    for (const c of clients) await expect.poll(() => c.seqs.length, eventually).toBe(50)
    for (const c of clients) expect(c.seqs).toEqual(range(1, 50))
    expect(hub.stats()).toMatchObject({ framed: 50, deliveries: 1000 })
  })

  it('when a socket joins with since while messages keep coming, it gets every later seq exactly once', async () => {
    const log = memoryLog()
    const { hub, url } = await serve({ log, pageSize: 7 })
    for (let i = 1; i <= 100; i++) log.append('r', `m${i}`)
    await client(url) // the hub now follows the room

    const publishing = (async () => {
      for (let i = 101; i <= 200; i++) {
        await hub.publish(log.append('r', `m${i}`))
        if (i % 10 === 0) await nextTurn()
      }
    })()
    const late = await client(url, 40)
    await publishing

    await expect.poll(() => late.seqs.length, eventually).toBe(160)
    expect(late.seqs).toEqual(range(41, 200))
  })

  it('when the bus loses messages, the next one makes the hub read the gap from the log', async () => {
    const log = memoryLog()
    const lost = new Set([3, 4, 7])
    const { hub, url } = await serve({
      log,
      bus: (receive) => {
        const bus = createLocalBus({ onMessage: receive })
        return {
          ...bus,
          publish: async (room, payload) => {
            if (!lost.has(Number(String(payload).split('\n')[0]))) await bus.publish(room, payload)
          },
        } satisfies Bus
      },
    })
    const c = await client(url)

    for (let i = 1; i <= 8; i++) await hub.publish(log.append('r', `m${i}`))

    await expect.poll(() => c.seqs.length, eventually).toBe(8)
    expect(c.seqs).toEqual(range(1, 8))
    expect(hub.stats().gapFilled).toBe(3)
  })

  it('when the bus repeats or reorders messages, each is delivered once, in seq order', async () => {
    const log = memoryLog()
    const { hub, url } = await serve({ log })
    const c = await client(url)
    const [m1, m2, m3] = [log.append('r', 'a'), log.append('r', 'b'), log.append('r', 'c')]

    for (const m of [m1, m1, m3, m2, m3, m1])
      hub.receive('r', Buffer.from(`${m.seq}\n${encode(m)}`))

    await expect.poll(() => c.seqs.length, eventually).toBe(3)
    await nextTurn()
    expect(c.seqs).toEqual([1, 2, 3])
  })

  it('when a client stops reading under the drop policy, its queue stays bounded, the others get everything and it resyncs', async () => {
    const log = memoryLog()
    const highWaterMark = 256 * 1024
    const { hub, url, serverSockets } = await serve({ log, highWaterMark, policy: 'drop' })
    const healthy = await Promise.all(Array.from({ length: 5 }, () => client(url)))
    const slow = await client(url)
    const slowOnServer = serverSockets.at(-1)!
    slow.ws.pause()

    const body = 'x'.repeat(16 * 1024)
    let peak = 0
    for (let i = 1; i <= 800; i++) {
      await hub.publish(log.append('r', body))
      await nextTurn()
      peak = Math.max(peak, slowOnServer.bufferedAmount)
    }

    for (const c of healthy) await expect.poll(() => c.seqs.length, eventually).toBe(800)
    // One tick's frames may go out after the last check: the watermark plus one message.
    expect(peak).toBeLessThanOrEqual(highWaterMark + body.length + 64)
    expect(hub.stats().slowConsumers).toBeGreaterThan(0)

    slow.ws.resume()
    await expect.poll(() => slow.frames.some((f) => f.type === 'resync'), eventually).toBe(true)
    slow.ws.send(JSON.stringify({ since: slow.seqs.at(-1) }))
    await expect.poll(() => slow.seqs.length, eventually).toBe(800)
    expect(slow.seqs).toEqual(range(1, 800))
  })

  it('when a client stops reading under the disconnect policy, it is terminated and the others are unaffected', async () => {
    const log = memoryLog()
    const { hub, url } = await serve({ log, highWaterMark: 128 * 1024, policy: 'disconnect' })
    const healthy = await client(url)
    const slow = await client(url)
    slow.ws.pause()
    const closed = once(slow.ws, 'close')
    slow.ws.resume()
    slow.ws.pause()

    const body = 'y'.repeat(16 * 1024)
    for (let i = 1; i <= 600 && slow.ws.readyState === WebSocket.OPEN; i++) {
      await hub.publish(log.append('r', body))
      await nextTurn()
    }
    slow.ws.resume()

    const [code] = (await closed) as [number]
    expect(code).toBe(1006)
    await expect.poll(() => healthy.seqs.length, eventually).toBe(log.append('r', 'last').seq - 1)
  })
})

describe.each([
  ['pub/sub', false],
  ['sharded pub/sub', true],
])('createRedisBus() with %s', (_name, sharded) => {
  it('when two hubs share Redis, a message published on one reaches sockets on the other', async () => {
    const redisUrl = process.env.REDIS_URL
    if (!redisUrl) throw new Error('REDIS_URL must point at a redis-server for these tests')
    const prefix = `test-${randomUUID()}:`
    const log = memoryLog()
    const instances = await Promise.all(
      [0, 1].map(async () => {
        const publisher = new Redis(redisUrl)
        const subscriber = publisher.duplicate()
        cleanups.push(async () => {
          await subscriber.quit()
          await publisher.quit()
        })
        return serve({
          log,
          bus: (receive) =>
            createRedisBus({
              publisher,
              subscriber,
              sharded,
              channel: (room) => `${prefix}{room:${room}}`,
              onMessage: receive,
            }),
        })
      })
    )
    const onA = await client(instances[0]!.url)
    const onB = await client(instances[1]!.url)

    for (let i = 1; i <= 20; i++) await instances[i % 2]!.hub.publish(log.append('r', `m${i}`))

    await expect.poll(() => onA.seqs.length, eventually).toBe(20)
    await expect.poll(() => onB.seqs.length, eventually).toBe(20)
    expect(onA.seqs).toEqual(range(1, 20))
    expect(onB.seqs).toEqual(range(1, 20))
  })
})
