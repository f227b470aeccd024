import { connect } from 'node:net'
import { sign } from 'hono/jwt'
import { beforeAll, describe, expect, it } from 'vitest'
import { api, ORIGIN, startChat, tokenFor, type RunningChat } from './helpers.ts'
import { HandshakeRefused, TestClient } from './ws-client.ts'

const SECRET = 'a-test-secret-of-at-least-32-characters!'

/**
 * A raw upgrade request; resolves with the status line once the server closed the TCP
 * connection, or with `closed: false` if it still held it open after `waitMs`.
 */
function rawUpgrade(
  url: string,
  headers: Record<string, string>,
  waitMs = 5000
): Promise<{ status: string; closed: boolean; bytes: number }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) })
    let response = ''
    const answer = (closed: boolean) => ({
      status: response.split('\r\n')[0] ?? '',
      closed,
      bytes: response.length,
    })
    const timer = setTimeout(() => {
      resolve(answer(false))
      socket.destroy()
    }, waitMs)
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (response += chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(answer(true))
    })
    const lines = [
      'GET /ws HTTP/1.1',
      `Host: ${hostname}:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Protocol: chat.v1',
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ]
    socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  })
}

async function refusedStatus(connecting: Promise<TestClient>): Promise<number> {
  try {
    ;(await connecting).close()
    return 101
  } catch (error) {
    if (error instanceof HandshakeRefused) return error.status
    throw error
  }
}

describe('GET /ws (the handshake)', () => {
  let server: RunningChat
  let connections = 0
  beforeAll(async () => {
    server = await startChat({ TOKEN_SECRET: SECRET, MAX_CONNECTIONS_PER_USER: '3' })
    server.chat.wss.on('connection', () => connections++)
    return () => server.stop()
  })

  it('when the Origin is not on the allowlist, answers 403 and closes the TCP connection before any socket exists', async () => {
    const token = await tokenFor(server.url, 'ada')
    const before = connections
    const corpus = [
      'http://chat.test.evil.com',
      'http://evil-chat.test',
      'http://chat.tes',
      'https://chat.test',
      'http://chat.test:8080',
      'http://sub.chat.test',
      'null',
      'http://chat%2etest',
      'http://chat.test/',
      'file://',
    ]

    const results = await Promise.all(
      corpus.map((origin) =>
        rawUpgrade(server.url, { Origin: origin, Authorization: `Bearer ${token}` })
      )
    )
    const allowed = await refusedStatus(
      TestClient.connect(server.wsUrl, token, { origin: 'HTTP://CHAT.TEST:80' })
    )

    for (const result of results) {
      expect(result.status).toBe('HTTP/1.1 403 Forbidden')
      expect(result.closed).toBe(true)
    }
    expect(allowed).toBe(101)
    expect(connections - before).toBe(1)
  })

  it('when the token is missing, expired, forged or revoked, answers 401 and closes the TCP connection, 0 frames', async () => {
    const now = Math.floor(Date.now() / 1000)
    const expired = await sign(
      { sub: 'ada', iat: now - 7200, exp: now - 3600, iat_ms: (now - 7200) * 1000 },
      SECRET,
      'HS256'
    )
    const forged = await sign(
      { sub: 'ada', iat: now, exp: now + 3600, iat_ms: now * 1000 },
      'another-secret-of-32-characters-or-more',
      'HS256'
    )
    const revoked = await tokenFor(server.url, 'mallory')
    await api(server.url, revoked, 'POST', '/logout')
    const before = connections

    const results = await Promise.all(
      [undefined, expired, forged, revoked, 'not.a.jwt'].map((token) =>
        rawUpgrade(server.url, {
          Origin: ORIGIN,
          ...(token !== undefined && { Authorization: `Bearer ${token}` }),
        })
      )
    )

    for (const result of results) {
      expect(result.status).toBe('HTTP/1.1 401 Unauthorized')
      expect(result.closed).toBe(true)
    }
    expect(connections).toBe(before)
  })

  it('when a browser offers the token as the bearer.<token> subprotocol, opens with chat.v1 selected', async () => {
    const token = await tokenFor(server.url, 'ada')

    const client = await TestClient.connect(server.wsUrl, undefined, {
      protocols: ['chat.v1', `bearer.${token}`],
    })

    expect(client.ws.protocol).toBe('chat.v1')
    expect(client.frames[0]).toMatchObject({ type: 'hello', user: 'ada', maxPayload: 65_536 })
    client.close()
  })

  it('when a user opens more connections than the cap, the next is refused with 429 until one closes', async () => {
    const token = await tokenFor(server.url, 'capped')
    const open = await Promise.all([1, 2, 3].map(() => TestClient.connect(server.wsUrl, token)))

    const fourth = await refusedStatus(TestClient.connect(server.wsUrl, token))
    const otherUser = await TestClient.connect(server.wsUrl, await tokenFor(server.url, 'uncapped'))
    open[0]!.close()
    await open[0]!.closed
    await expect.poll(() => refusedStatus(TestClient.connect(server.wsUrl, token))).toBe(101)

    expect(fourth).toBe(429)
    for (const client of [...open, otherUser]) client.close()
  })

  it('when a user logs out, every socket of theirs closes with 1008 within a second and their token stops working', async () => {
    const token = await tokenFor(server.url, 'leaving')
    const sockets = await Promise.all([1, 2, 3].map(() => TestClient.connect(server.wsUrl, token)))
    const bystander = await TestClient.connect(server.wsUrl, await tokenFor(server.url, 'staying'))

    const started = performance.now()
    const { status } = await api(server.url, token, 'POST', '/logout')
    const closes = await Promise.all(sockets.map((client) => client.closed))
    const elapsed = performance.now() - started

    expect(status).toBe(204)
    expect(closes.map((c) => c.code)).toEqual([1008, 1008, 1008])
    expect(elapsed).toBeLessThan(1000)
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN)
    expect(await refusedStatus(TestClient.connect(server.wsUrl, token))).toBe(401)
    expect(
      await refusedStatus(TestClient.connect(server.wsUrl, await tokenFor(server.url, 'leaving')))
    ).toBe(101)
    bystander.close()
  })

  it('when an upgrade request carries 2,500 headers, the server stays up and serves the next handshake', async () => {
    const token = await tokenFor(server.url, 'ada')
    const headers: Record<string, string> = { Origin: ORIGIN, Authorization: `Bearer ${token}` }
    for (let i = 0; i < 2500; i++) headers[`X-Filler-${i}`] = 'x'

    const answer = await rawUpgrade(server.url, headers)
    const next = await TestClient.connect(server.wsUrl, token)

    expect(answer.closed).toBe(true)
    expect(next.frames[0]).toMatchObject({ type: 'hello' })
    next.close()
  })
})

describe('GET /ws (missing Origin policy)', () => {
  it('when ALLOW_MISSING_ORIGIN is true (the default), a program without Origin connects with its token; when false, 403', async () => {
    const lenient = await startChat()
    const strict = await startChat({ ALLOW_MISSING_ORIGIN: 'false' })
    try {
      const lenientStatus = await refusedStatus(
        TestClient.connect(lenient.wsUrl, await tokenFor(lenient.url, 'bot'), { origin: null })
      )
      const strictAnswer = await rawUpgrade(strict.url, {
        Authorization: `Bearer ${await tokenFor(strict.url, 'bot')}`,
      })
      const strictWithOrigin = await refusedStatus(
        TestClient.connect(strict.wsUrl, await tokenFor(strict.url, 'bot'))
      )

      expect(lenientStatus).toBe(101)
      expect(strictAnswer).toMatchObject({ status: 'HTTP/1.1 403 Forbidden', closed: true })
      expect(strictWithOrigin).toBe(101)
    } finally {
      await Promise.all([lenient.stop(), strict.stop()])
    }
  })

  it('when the instance is draining, refuses new handshakes with 503', async () => {
    const server = await startChat()
    const token = await tokenFor(server.url, 'ada')
    server.chat.health.setDraining()

    const status = await refusedStatus(TestClient.connect(server.wsUrl, token))

    expect(status).toBe(503)
    await server.stop()
  })
})
