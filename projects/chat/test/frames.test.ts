import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { ClientFrame } from '../src/gateway/frames.ts'
import { api, createRoom, liveMemory, startChat, tokenFor, type RunningChat } from './helpers.ts'
import { TestClient } from './ws-client.ts'

describe('frames: size limits', () => {
  let server: RunningChat
  let token: string
  beforeAll(async () => {
    server = await startChat()
    token = await tokenFor(server.url, 'ada')
    return () => server.stop()
  })

  it('when a frame is exactly 64 KiB, it is read and answered, and the connection stays open', async () => {
    const client = await TestClient.connect(server.wsUrl, token)
    const prefix = '{"type":"send","room":"r","clientId":"big","body":"'
    const frame = prefix + 'x'.repeat(64 * 1024 - prefix.length - 2) + '"}'

    client.send(frame)
    const answer = await client.until((f) => f.type === 'error')

    expect(Buffer.byteLength(frame)).toBe(65_536)
    expect(answer).toMatchObject({ code: 'invalid_frame', errors: [{ path: 'body' }] })
    expect(client.ws.readyState).toBe(client.ws.OPEN)
    client.close()
  })

  it('when a frame is 64 KiB + 1 byte, the connection is closed with 1009', async () => {
    const client = await TestClient.connect(server.wsUrl, token)

    client.send('x'.repeat(64 * 1024 + 1))

    expect((await client.closed).code).toBe(1009)
  })

  it('when 1,000 fragments of 1 KiB add up past the limit, the connection is closed with 1009, and 100 such attempts leave memory flat', async () => {
    // Live memory (heap and buffers) after full collections: RSS would measure the allocator,
    // which keeps freed pages, and when V8 last collected.
    const attempt = async () => {
      const client = await TestClient.connect(server.wsUrl, token)
      const chunk = Buffer.alloc(1024, 0x61)
      for (let i = 0; i < 1000 && client.ws.readyState === client.ws.OPEN; i++) {
        client.ws.send(chunk, { fin: i === 999, binary: false })
        // Let the close in: a sender that keeps writing after it is pointless.
        if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve))
      }
      return (await client.closed).code
    }
    const first = await attempt()
    // Warm-up: native buffers for the first sockets grow to a plateau (~10 MB in 50 attempts,
    // flat from there on; measured), which is not what 100 more attempts keep.
    for (let i = 0; i < 50; i++) await attempt()
    const before = await liveMemory()

    const codes: number[] = []
    for (let i = 0; i < 100; i++) codes.push(await attempt())
    await expect.poll(() => server.chat.gateway.stats().connections).toBe(0)
    const grown = (await liveMemory()) - before

    expect(first).toBe(1009)
    expect(new Set(codes)).toEqual(new Set([1009]))
    expect(grown).toBeLessThan(10 * 1024 * 1024)
  })
})

describe('frames: per-connection rate limit', () => {
  it('when a connection sends its 101st frame within the minute (a join and 99 messages before it), it gets rate_limited, nothing is stored and other connections are unaffected', async () => {
    const server = await startChat({ RATE_LIMIT_MESSAGES: '100', RATE_LIMIT_WINDOW_MS: '60000' })
    try {
      const token = await tokenFor(server.url, 'ada')
      const room = await createRoom(server.url, token)
      const noisy = await TestClient.connect(server.wsUrl, token)
      const quiet = await TestClient.connect(server.wsUrl, await tokenFor(server.url, 'bob'))
      await noisy.join(room)
      await quiet.join(room)

      const answers = []
      for (let i = 1; i <= 99; i++) answers.push(noisy.say(room, `m${i}`, `m${i}`))
      const acks = await Promise.all(answers)
      noisy.send({ type: 'send', room, clientId: 'm100', body: 'one too many' })
      const refused = await noisy.until((f) => f.type === 'error')
      const fromQuiet = await quiet.say(room, 'still fine', 'q1')

      expect(acks.map((a) => a.type)).toEqual(acks.map(() => 'ack'))
      expect(refused).toMatchObject({ type: 'error', code: 'rate_limited' })
      expect(refused.retryAfterMs).toBeGreaterThan(0)
      expect(fromQuiet).toMatchObject({ type: 'ack', seq: 100 })
      expect(noisy.ws.readyState).toBe(noisy.ws.OPEN)
      const { body } = await api<{ messages: { clientId: string }[] }>(
        server.url,
        token,
        'GET',
        `/rooms/${room}/messages?limit=200`
      )
      expect(body.messages).toHaveLength(100)
      expect(body.messages.map((m) => m.clientId)).not.toContain('m100')
    } finally {
      await server.stop()
    }
  })
})

describe('frames: malformed input', () => {
  let server: RunningChat
  beforeAll(async () => {
    server = await startChat({ RATE_LIMIT_MESSAGES: '100000' })
    return () => server.stop()
  })

  /** Frames the protocol refuses: any JSON value, mutated frames, text that is not JSON. */
  const invalidFrame = fc
    .oneof(
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc
        .record(
          {
            type: fc.oneof(fc.constantFrom('join', 'leave', 'send', 'typing', 'read'), fc.string()),
            room: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
            clientId: fc.oneof(fc.string(), fc.integer()),
            body: fc.oneof(fc.string(), fc.integer(), fc.constant(''), fc.constant(null)),
            seq: fc.oneof(fc.integer(), fc.double(), fc.string()),
            extra: fc.anything(),
          },
          { requiredKeys: [] }
        )
        .map((value) => JSON.stringify(value)),
      fc.string().filter((text) => {
        try {
          JSON.parse(text)
          return false
        } catch {
          return true
        }
      })
    )
    .filter((text) => {
      try {
        return !ClientFrame.safeParse(JSON.parse(text)).success
      } catch {
        return true
      }
    })

  it('when 1,000 generated malformed frames arrive, each gets one error frame, the process and connection survive and nothing is stored', async () => {
    const token = await tokenFor(server.url, 'fuzz')
    const room = await createRoom(server.url, token)
    const client = await TestClient.connect(server.wsUrl, token)
    await client.join(room)
    const frames = fc.sample(invalidFrame, { numRuns: 1000, seed: 42 })

    for (const frame of frames) client.send(frame)

    await expect
      .poll(() => client.frames.filter((f) => f.type === 'error').length, { timeout: 20_000 })
      .toBe(1000)
    const errors = client.frames.filter((f) => f.type === 'error')
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['malformed_json', 'invalid_frame']))
    for (const error of errors.filter((e) => e.code === 'invalid_frame')) {
      expect((error.errors as { path: string }[]).length).toBeGreaterThan(0)
    }
    expect(client.ws.readyState).toBe(client.ws.OPEN)
    expect((await client.say(room, 'still here')).type).toBe('ack')
    const { body } = await api<{ messages: { body: string }[] }>(
      server.url,
      token,
      'GET',
      `/rooms/${room}/messages`
    )
    expect(body.messages.map((m) => m.body)).toEqual(['still here'])
  })

  it('when a frame is binary, or names a room it did not join, the error names the field', async () => {
    const token = await tokenFor(server.url, 'picky')
    const client = await TestClient.connect(server.wsUrl, token)

    client.ws.send(Buffer.from('{"type":"typing","room":"r"}'), { binary: true })
    client.send({ type: 'send', room: 'elsewhere', clientId: 'x1', body: 'hi' })
    client.send({ type: 'join', room: 'no-such-room' })

    await expect.poll(() => client.frames.filter((f) => f.type === 'error').length).toBe(3)
    const errors = client.frames.filter((f) => f.type === 'error')
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: 'invalid_frame',
          errors: [{ path: '', message: 'binary frames are not accepted' }],
        }),
        expect.objectContaining({
          code: 'not_joined',
          room: 'elsewhere',
          clientId: 'x1',
          errors: [{ path: 'room', message: 'not joined' }],
        }),
        expect.objectContaining({
          code: 'room_not_found',
          errors: [{ path: 'room', message: 'no such room' }],
        }),
      ])
    )
    client.close()
  })
})
