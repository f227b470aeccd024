import { randomInt } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { policies, startService, statusCounts, type RunningService } from './helpers.ts'

// The client cannot choose its rate-limit key. Real sockets: the
// service sees this test's connection from 127.0.0.1.
const limitOfTen = policies({ policies: { default: { limit: 10, windowMs: 60_000 } } })
const randomIp = () => `${randomInt(1, 224)}.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}`

async function getResource(service: RunningService, forwardedFor: string) {
  const response = await fetch(`${service.url}/api/resource`, {
    headers: { 'x-forwarded-for': forwardedFor },
  })
  await response.arrayBuffer() // frees the connection for the next request (keep-alive)
  return response
}

describe('client identity: no trusted proxy (the default)', () => {
  let service: RunningService
  beforeAll(async () => {
    service = await startService({ POLICIES: limitOfTen })
  })
  afterAll(() => service.stop())

  it('when 1,000 requests from one socket carry random X-Forwarded-For, exactly 10 pass', async () => {
    const responses = []
    for (let i = 0; i < 1000; i++) {
      responses.push(await getResource(service, `${randomIp()}, ${randomIp()}`))
    }

    expect(statusCounts(responses)).toEqual({ 200: 10, 429: 990 })
  })
})

describe('client identity: one trusted proxy hop', () => {
  let service: RunningService
  beforeAll(async () => {
    service = await startService({ POLICIES: limitOfTen, TRUST_PROXY: '1' })
  })
  afterAll(() => service.stop())

  it('when the client prepends random entries, only the right-most one counts', async () => {
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => getResource(service, `${randomIp()}, 203.0.113.7`))
    )

    expect(statusCounts(responses)).toEqual({ 200: 10, 429: 40 })
  })

  it('when the right-most address differs, it is another client with its own quota', async () => {
    const response = await getResource(service, '203.0.113.8')

    expect(response.status).toBe(200)
  })

  it('when the same address comes with different ports, they share one quota', async () => {
    const responses = []
    for (let port = 1000; port < 1011; port++) {
      responses.push(await getResource(service, `203.0.113.9:${port}`))
    }

    expect(statusCounts(responses)).toEqual({ 200: 10, 429: 1 })
  })

  it('when IPv6 addresses share a /64, they share one quota; another /64 does not', async () => {
    const sameSubnet = []
    for (let host = 1; host <= 11; host++) {
      const address = `2001:db8:1:2::${host.toString(16)}`
      sameSubnet.push(await getResource(service, host % 2 ? `[${address}]:443` : address))
    }
    const otherSubnet = await getResource(service, '2001:db8:1:3::1')

    expect(statusCounts(sameSubnet)).toEqual({ 200: 10, 429: 1 })
    expect(otherSubnet.status).toBe(200)
  })

  it('when the right-most entry is not an address, falls back to the socket peer safely', async () => {
    const responses = []
    for (let i = 0; i < 11; i++)
      responses.push(await getResource(service, `203.0.113.10, junk-${i}`))

    expect(statusCounts(responses)).toEqual({ 200: 10, 429: 1 })
  })
})
