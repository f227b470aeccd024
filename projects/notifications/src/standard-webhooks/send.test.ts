import http, {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { sendWebhook } from './send.ts'
import { generateSecret, verify } from './signature.ts'

type Received = { headers: IncomingMessage['headers']; body: string }
const servers: Server[] = []

async function receiver(
  answer: (res: ServerResponse, count: number) => void
): Promise<{ url: string; received: Received[]; connections: () => number }> {
  const received: Received[] = []
  let connections = 0
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      received.push({ headers: req.headers, body })
      answer(res, received.length)
    })
  })
  server.on('connection', () => connections++)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/hook`, received, connections: () => connections }
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise((resolve) => {
          server.closeAllConnections()
          server.close(resolve)
        })
    )
  )
})

describe('sendWebhook()', () => {
  const secret = generateSecret()
  const body = JSON.stringify({ type: 'order.paid', timestamp: '2026-01-01T00:00:00Z', data: {} })

  it('when retried, sends the same webhook-id with a new timestamp and a signature that verifies each time', async () => {
    const hook = await receiver((res, n) => res.writeHead(n < 3 ? 500 : 204).end())
    const at = Date.now()

    const results = []
    for (let i = 0; i < 3; i++) {
      results.push(
        await sendWebhook({
          url: hook.url,
          id: 'msg_same',
          body,
          secrets: [secret],
          now: at + i * 5000,
        })
      )
    }

    expect(results.map((r) => r.kind)).toEqual(['retry', 'retry', 'delivered'])
    expect(new Set(hook.received.map((r) => r.headers['webhook-id']))).toEqual(
      new Set(['msg_same'])
    )
    expect(new Set(hook.received.map((r) => r.headers['webhook-timestamp'])).size).toBe(3)
    for (const { headers, body: raw } of hook.received) {
      expect(raw).toBe(body)
      expect(() =>
        verify(raw, headers as Record<string, string>, secret, { now: at + 10_000 })
      ).not.toThrow()
    }
  })

  it('when the receiver redirects, counts a failure and never follows the Location', async () => {
    const target = await receiver((res) => res.writeHead(204).end())
    const hook = await receiver((res) => res.writeHead(302, { location: target.url }).end())

    const result = await sendWebhook({ url: hook.url, id: 'msg_r', body, secrets: [secret] })

    expect(result).toMatchObject({ kind: 'retry', reason: 'redirect_302', status: 302 })
    expect(target.connections()).toBe(0)
  })

  it('when the receiver answers 410, says to disable the endpoint', async () => {
    const hook = await receiver((res) => res.writeHead(410).end())

    expect(
      await sendWebhook({ url: hook.url, id: 'msg_g', body, secrets: [secret] })
    ).toMatchObject({
      kind: 'disable',
      status: 410,
    })
  })

  it('when the receiver answers 503 with Retry-After, passes the delay on', async () => {
    const hook = await receiver((res) => res.writeHead(503, { 'retry-after': '7' }).end())

    expect(
      await sendWebhook({ url: hook.url, id: 'msg_u', body, secrets: [secret] })
    ).toMatchObject({
      kind: 'retry',
      retryAfterMs: 7000,
    })
  })

  it('when the receiver never answers, aborts at the timeout with reason timeout', async () => {
    const hook = await receiver(() => {
      // never answers
    })

    const result = await sendWebhook({
      url: hook.url,
      id: 'msg_h',
      body,
      secrets: [secret],
      timeoutMs: 300,
    })

    expect(result.kind).toBe('retry')
    expect(result).toMatchObject({ reason: 'timeout' })
    expect(result.durationMs).toBeGreaterThanOrEqual(290)
  })

  it('when nothing listens, reports a connection error to retry', async () => {
    const hook = await receiver((res) => res.end())
    const url = hook.url
    await new Promise((resolve) => servers.pop()!.close(resolve))

    expect(await sendWebhook({ url, id: 'msg_c', body, secrets: [secret] })).toMatchObject({
      kind: 'retry',
      reason: 'connection_error_econnrefused',
    })
  })
})

describe('sendWebhook() on a kept-alive socket', () => {
  it('when the receiver resets a reused idle socket, sends again once on a fresh one instead of failing', async () => {
    // A receiver that answers the first request of each connection and resets the connection
    // when a second request arrives on it: what a client sees when it reuses a socket the
    // server has just dropped as idle.
    let connections = 0
    const server = createNetServer((socket) => {
      connections++
      let served = false
      socket.on('data', () => {
        if (served) {
          socket.resetAndDestroy()
          return
        }
        served = true
        socket.write('HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n')
      })
      socket.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const secret = generateSecret()

    const first = await sendWebhook({
      url,
      id: 'msg_k1',
      body: '{}',
      secrets: [secret],
      agents: { http: agent },
    })
    const second = await sendWebhook({
      url,
      id: 'msg_k2',
      body: '{}',
      secrets: [secret],
      agents: { http: agent },
    })
    agent.destroy()
    await new Promise((resolve) => server.close(resolve))

    expect([first.kind, second.kind]).toEqual(['delivered', 'delivered'])
    expect(connections).toBe(2)
  })
})
