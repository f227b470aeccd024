import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requestMix } from '../src/request-mix.ts'
import { findWrk, runWrk } from '../src/wrk.ts'

// Real wrk runs against a bare node:http server in this process, which records what it received.
const bin = findWrk()
if (bin === null) throw new Error('these tests need wrk on PATH (apt-get install wrk)')

const received = { paths: new Map<string, number>(), bodies: [] as string[] }
let server: Server
let url: string

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      received.paths.set(req.url!, (received.paths.get(req.url!) ?? 0) + 1)
      if (req.method === 'POST') received.bodies.push(body)
      const status = req.url === '/missing' ? 404 : req.method === 'POST' ? 201 : 200
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise((resolve) => server.close(resolve)))

describe('runWrk() against a bare node:http server', () => {
  it('when paths are drawn Zipf, the server receives what the script says it built, most of it for the first value', async () => {
    received.paths.clear()
    const values = Array.from({ length: 50 }, (_, i) => (i === 2 ? 'missing' : `code${i}`))
    const template = {
      path: '/{pick}',
      headers: { 'user-agent': 'kit-bench-test' },
      pick: { values, distribution: { zipf: 1.1 } },
    }

    const { result, cpuSeconds } = await runWrk({
      bin,
      url,
      template,
      connections: 4,
      threads: 1,
      durationSeconds: 1,
    })

    const served = [...received.paths.values()].reduce((sum, n) => sum + n, 0)
    const statuses = Object.values(result.statuses).reduce((sum, n) => sum + n, 0)
    expect(result.requests).toBeGreaterThan(100)
    expect(statuses).toBe(result.requests)
    expect(result.statuses['404']).toBeGreaterThan(0)
    expect(result.statuses['404']).toBeLessThanOrEqual(received.paths.get('/missing')!)
    // Built >= sent >= answered: requests in flight at the end were built, maybe not answered.
    expect(result.built).toBeGreaterThanOrEqual(served)
    expect(served).toBeGreaterThanOrEqual(result.requests)
    expect(result.byPick.reduce((sum, n) => sum + n, 0)).toBe(result.built)
    values.forEach((value, i) => {
      expect(received.paths.get(`/${value}`) ?? 0).toBeLessThanOrEqual(result.byPick[i]!)
    })
    expect(Math.max(...result.byPick)).toBe(result.byPick[0])
    expect(result.byPick[0]!).toBeGreaterThan(5 * result.byPick[40]!)
    expect(result.latencyMs.p50).toBeGreaterThan(0)
    expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50)
    expect(result.durationSeconds).toBeGreaterThan(0.9)
    expect(cpuSeconds).toBeGreaterThan(0)
  })

  it('when POST bodies hold {unique}, two runs with 2 threads never send one value twice, and the mix counts both', async () => {
    received.bodies.length = 0
    const mix = requestMix({
      method: 'POST',
      path: '/api/links',
      headers: { 'content-type': 'application/json' },
      body: '{"url":"https://example.com/created/{unique}"}',
    })

    for (let run = 0; run < 2; run++) {
      const { result } = await runWrk({
        bin,
        url,
        template: mix.template,
        connections: 4,
        threads: 2,
        // Fractional: wrk is stopped by SIGINT, and must still report.
        durationSeconds: 0.5,
        firstUnique: mix.nextUnique,
      })
      expect(result.statuses['201']).toBe(result.requests)
      mix.record({ total: result.built, byPick: result.byPick, nextUnique: result.nextUnique })
    }

    const urls = received.bodies.map((body) => (JSON.parse(body) as { url: string }).url)
    expect(urls.length).toBeGreaterThan(50)
    expect(new Set(urls).size).toBe(urls.length)
    expect(urls.every((u) => /^https:\/\/example\.com\/created\/\d+$/.test(u))).toBe(true)
    expect(mix.sent.total).toBeGreaterThanOrEqual(urls.length)
    const highest = Math.max(...urls.map((u) => Number(u.split('/').pop())))
    expect(mix.nextUnique).toBeGreaterThan(highest)
  })
})
