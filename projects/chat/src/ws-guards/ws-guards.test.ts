import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { createConnectionCap } from './connection-cap.ts'
import { createHeartbeat } from './heartbeat.ts'
import { createOriginPolicy } from './origin-allowlist.ts'
import { createTokenBucket } from './token-bucket.ts'

// Waits for what must arrive: up to 10 s, so a loaded machine is not a failure; the value is exact.
const eventually = { timeout: 10_000 }

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('createOriginPolicy()', () => {
  const policy = createOriginPolicy({
    allowed: ['https://chat.example.com', 'http://localhost:3003'],
    allowMissing: false,
  })

  it('when the origin is on the list, in any case and with its default port, allows it', () => {
    for (const origin of [
      'https://chat.example.com',
      'HTTPS://CHAT.EXAMPLE.COM',
      'https://chat.example.com:443',
      'http://localhost:3003',
    ]) {
      expect(policy.check(origin), origin).toMatchObject({ allowed: true })
    }
  })

  it('when the origin only looks like one on the list, refuses it', () => {
    const corpus = [
      'https://chat.example.com.evil.com',
      'https://evilchat.example.com',
      'https://evil-chat.example.com',
      'https://chat.example.co',
      'https://chat.example.com.',
      'https://sub.chat.example.com',
      'http://chat.example.com',
      'https://chat.example.com:8443',
      'wss://chat.example.com',
      'http://localhost:3004',
      'http://localhost',
      'https://localhost:3003',
      'http://127.0.0.1:3003',
      'https://xn--chat-example-com',
      'https://chat%2eexample.com',
      'https://user@chat.example.com',
      'https://chat.example.com/',
      'https://chat.example.com/path',
      'https://chat.example.com?x=1',
      'null',
      'file://',
      '*',
      ' ',
      'chat.example.com',
      'https://chat.example.com, https://evil.com',
    ]
    for (const origin of corpus) {
      expect(policy.check(origin).allowed, origin).toBe(false)
    }
  })

  it('when there is no Origin, follows allowMissing', () => {
    const lenient = createOriginPolicy({ allowed: [], allowMissing: true })

    expect(policy.check(undefined)).toEqual({ allowed: false, reason: 'missing' })
    expect(lenient.check(undefined)).toEqual({ allowed: true, origin: undefined })
  })

  it('when the list holds something that is not an origin, refuses to build', () => {
    expect(() =>
      createOriginPolicy({ allowed: ['https://a.com/path'], allowMissing: false })
    ).toThrow(/not an origin/)
  })
})

describe('createTokenBucket()', () => {
  it('when a connection sends over its budget, refuses the excess and refills over the window', () => {
    let clock = 0
    const bucket = createTokenBucket({ capacity: 100, windowMs: 60_000, now: () => clock })

    const first = Array.from({ length: 100 }, () => bucket.take().allowed)
    const over = bucket.take()
    clock += 600
    const refilled = bucket.take()

    expect(first.every(Boolean)).toBe(true)
    expect(over).toEqual({ allowed: false, retryAfterMs: 600 })
    expect(refilled.allowed).toBe(true)
    expect(bucket.take().allowed).toBe(false)
  })
})

describe('createConnectionCap()', () => {
  it('when a user reaches the cap, refuses more until one is released, once', () => {
    const cap = createConnectionCap({ max: 2 })

    const [a, b] = [cap.acquire('ada'), cap.acquire('ada')]
    const third = cap.acquire('ada')
    a!()
    a!()

    expect(third).toBeUndefined()
    expect(cap.count('ada')).toBe(1)
    expect(cap.acquire('ada')).toBeDefined()
    expect(cap.acquire('bob')).toBeDefined()
    b!()
  })
})

describe('createHeartbeat()', () => {
  it('when clients stop answering pings, terminates every one of them and no healthy client', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    await once(wss, 'listening')
    cleanups.push(() => new Promise((resolve) => wss.close(resolve)))
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
    const connect = async (autoPong: boolean) => {
      const ws = new WebSocket(url, { autoPong })
      ws.on('error', () => {})
      cleanups.push(() => ws.terminate())
      await once(ws, 'open')
      return ws
    }

    const silent = await Promise.all(Array.from({ length: 200 }, () => connect(false)))
    const healthy = await Promise.all(Array.from({ length: 20 }, () => connect(true)))
    await expect.poll(() => wss.clients.size, eventually).toBe(220)
    const terminated: WebSocket[] = []
    const heartbeat = createHeartbeat({ intervalMs: 500, onTerminate: (ws) => terminated.push(ws) })
    cleanups.push(() => heartbeat.stop())
    for (const ws of wss.clients) heartbeat.track(ws)

    await expect.poll(() => terminated.length, eventually).toBe(200)
    await expect.poll(() => wss.clients.size, eventually).toBe(20)
    expect(healthy.every((ws) => ws.readyState === WebSocket.OPEN)).toBe(true)
    await expect
      .poll(() => silent.every((ws) => ws.readyState === WebSocket.CLOSED), eventually)
      .toBe(true)
    expect(heartbeat.size()).toBe(20)
  })
})
