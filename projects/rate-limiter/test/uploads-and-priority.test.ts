import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { waitFor } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { parseRateLimit, parseRateLimitPolicy } from '../src/middleware/ratelimit-header-parser.ts'
import { policies, startService, statusCounts, type RunningService } from './helpers.ts'

/** An upload whose body stays open until `finish()`: it holds its concurrency slot meanwhile. */
function openUpload(url: string): { finish(): Promise<IncomingMessage>; request: ClientRequest } {
  const request = httpRequest(`${url}/api/uploads`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
  })
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    request.on('response', resolve)
    request.on('error', reject)
  })
  request.write(Buffer.alloc(1024))
  return {
    request,
    async finish() {
      request.end(Buffer.alloc(1024))
      const answer = await response
      answer.resume()
      return answer
    },
  }
}

describe('POST /api/uploads (Redis concurrency limiter, 2 in flight)', () => {
  let service: RunningService
  beforeAll(async () => {
    service = await startService({ REDIS_URL: inject('redisUrl') })
  })
  afterAll(() => service.stop())

  it('when two uploads are in flight, refuses a third with 429 and admits one after a release', async () => {
    const slots = `${service.config.KEY_PREFIX}concurrency:uploads:{ip:127.0.0.1}`
    const first = openUpload(service.url)
    const second = openUpload(service.url)
    await waitFor(async () => (await service.redis?.zcard(slots)) === 2, {
      message: 'the two uploads never took their slots',
    })

    const third = await fetch(`${service.url}/api/uploads`, { method: 'POST', body: 'x' })
    const [firstDone, secondDone] = await Promise.all([first.finish(), second.finish()])
    const fourth = await fetch(`${service.url}/api/uploads`, { method: 'POST', body: 'y' })

    expect(third.status).toBe(429)
    expect(await third.json()).toMatchObject({ 'violated-policies': ['uploads-concurrency'] })
    expect(third.headers.get('retry-after')).toBe('1')
    // Both limits of the route are reported: the concurrency one and the rate policy.
    expect(parseRateLimitPolicy(third.headers.get('ratelimit-policy'))).toMatchObject([
      { name: 'uploads-concurrency', quota: 2, quotaUnit: 'concurrent-requests' },
      { name: 'uploads', quota: 30, windowSeconds: 60 },
    ])
    expect(parseRateLimit(third.headers.get('ratelimit'))[0]).toMatchObject({
      name: 'uploads-concurrency',
      remaining: 0,
    })
    expect([firstDone.statusCode, secondDone.statusCode]).toEqual([201, 201])
    expect(fourth.status).toBe(201)
    expect(await fourth.json()).toEqual({ uploaded: 1 })
    // Released after the response (not awaited by the request): every slot comes back.
    await waitFor(async () => (await service.redis?.zcard(slots)) === 0, {
      message: 'a slot was never released',
    })
  })

  it('when the body is over 1 MiB (chunked), answers 413 and releases the slot', async () => {
    const slots = `${service.config.KEY_PREFIX}concurrency:uploads:{ip:127.0.0.1}`

    const response = await fetch(`${service.url}/api/uploads`, {
      method: 'POST',
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new Uint8Array(1024 * 1024 + 1))
          controller.close()
        },
      }),
      duplex: 'half',
    })

    expect(response.status).toBe(413)
    await waitFor(async () => (await service.redis?.zcard(slots)) === 0, {
      message: 'the refused upload kept its slot',
    })
  })
})

describe('POST /api/uploads, two limits on one resource (3 per minute, 2 in flight)', () => {
  let service: RunningService
  beforeAll(async () => {
    service = await startService({
      REDIS_URL: inject('redisUrl'),
      POLICIES: policies({ policies: { uploads: { limit: 3, windowMs: 60_000 } } }),
    })
  })
  afterAll(() => service.stop())

  it('when the concurrency limit refuses, no rate-limit unit is spent, and every answer lists the same policies', async () => {
    const slots = `${service.config.KEY_PREFIX}concurrency:uploads:{ip:127.0.0.1}`
    const first = openUpload(service.url)
    const second = openUpload(service.url)
    await waitFor(async () => (await service.redis?.zcard(slots)) === 2, {
      message: 'the two uploads never took their slots',
    })

    const busy = await fetch(`${service.url}/api/uploads`, { method: 'POST', body: 'x' })
    await Promise.all([first.finish(), second.finish()])
    await waitFor(async () => (await service.redis?.zcard(slots)) === 0)
    const third = await fetch(`${service.url}/api/uploads`, { method: 'POST', body: 'y' })
    const overQuota = await fetch(`${service.url}/api/uploads`, { method: 'POST', body: 'z' })

    expect(busy.status).toBe(429)
    expect(await busy.json()).toMatchObject({ 'violated-policies': ['uploads-concurrency'] })
    // The refused upload spent nothing: the third of three is admitted, with 0 left.
    expect(third.status).toBe(201)
    expect(parseRateLimit(third.headers.get('ratelimit'))).toContainEqual(
      expect.objectContaining({ name: 'uploads', remaining: 0 })
    )
    expect(overQuota.status).toBe(429)
    expect(await overQuota.json()).toMatchObject({ 'violated-policies': ['uploads'] })
    const field = third.headers.get('ratelimit-policy')
    expect(
      parseRateLimitPolicy(field)
        .map((policy) => policy.name)
        .sort()
    ).toEqual(['uploads', 'uploads-concurrency'])
    expect(busy.headers.get('ratelimit-policy')).toBe(field)
    expect(overQuota.headers.get('ratelimit-policy')).toBe(field)
  })
})

describe('POST /api/uploads, the client closing the connection mid-body', () => {
  let service: RunningService
  beforeAll(async () => {
    service = await startService({
      TRUST_PROXY: '1',
      POLICIES: policies({ policies: { uploads: { limit: 30, windowMs: 60_000 } } }),
    })
  })
  afterAll(() => service.stop())

  /** Sends the head and a tenth of a 100 kB body, then resets the socket once the handler reads. */
  async function abortedUpload(client: string): Promise<void> {
    const { port } = new URL(service.url)
    const socket = connect(Number(port), '127.0.0.1')
    socket.on('error', () => undefined)
    socket.write(
      'POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n' +
        `X-Forwarded-For: ${client}\r\nContent-Length: 100000\r\n\r\n`
    )
    socket.write(Buffer.alloc(10_000))
    const slots = service.limits.concurrency.uploads?.fallback as unknown as { size: number }
    await waitFor(() => slots.size === 1, { message: 'the upload never reached its handler' })
    socket.resetAndDestroy()
    await waitFor(() => slots.size === 0, { message: 'the aborted upload never finished' })
  }

  it('when 5 uploads are aborted, answers no 500, logs no error and refunds no unit', async () => {
    const client = '198.51.100.77'
    for (let i = 0; i < 5; i++) await abortedUpload(client)

    const next = await fetch(`${service.url}/api/uploads`, {
      method: 'POST',
      headers: { 'x-forwarded-for': client },
      body: 'x',
    })
    const scraped = await (await fetch(`${service.url}/metrics`)).text()

    expect(next.status).toBe(201)
    // 30 per minute: the five aborted uploads were decided and spent, the sixth is this one.
    expect(parseRateLimit(next.headers.get('ratelimit'))).toContainEqual(
      expect.objectContaining({ name: 'uploads', remaining: 24 })
    )
    expect(scraped).not.toMatch(/http_requests_total\{[^}]*status="5\d\d"/)
    expect(service.logs.filter((line) => line.level >= 50)).toEqual([])
  })
})

describe('GET /api/priority (load shedder: capacity 5, 20 % reserved)', () => {
  let service: RunningService
  beforeAll(async () => {
    service = await startService({ LOAD_SHED_CAPACITY: '5' })
  })
  afterAll(() => service.stop())

  it('when normal traffic fills its 4 slots, sheds normal requests with 503 and still serves critical ones', async () => {
    const slow = Array.from({ length: 4 }, () => fetch(`${service.url}/api/priority?work=1000`))
    await waitFor(() => service.limits.shedder.inFlight === 4, {
      message: 'the slow requests never arrived',
    })

    const shed = await fetch(`${service.url}/api/priority`)
    const critical = await fetch(`${service.url}/api/priority`, {
      headers: { 'x-priority': 'critical' },
    })
    const slowDone = await Promise.all(slow)

    expect(shed.status).toBe(503)
    expect(Number(shed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(await shed.json()).toMatchObject({
      type: 'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity',
    })
    expect(critical.status).toBe(200)
    expect(await critical.json()).toEqual({ served: 'critical' })
    expect(statusCounts(slowDone)).toEqual({ 200: 4 })
    expect(service.limits.shedder.inFlight).toBe(0)
  })

  it('when ?work is out of range, answers 400 naming "work"', async () => {
    const response = await fetch(`${service.url}/api/priority?work=99999`)

    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ errors: [{ path: 'work' }] })
  })
})
