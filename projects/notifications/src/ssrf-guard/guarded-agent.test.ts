import http from 'node:http'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAddressPolicy } from './address-policy.ts'
import { checkUrl, createGuardedAgents, SsrfBlockedError, type Resolver } from './guarded-agent.ts'

// A loopback canary counts every socket that reaches it; no test ever leaves 127.0.0.0/8 or ::1.
// Hostnames are answered by an injected resolver, so no DNS query is made either.
let canaryV4: Server
let canaryV6: Server
let port = 0
let connections = 0
const sockets = new Set<Socket>()

function listen(server: Server, host: string, onPort?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(onPort ?? 0, host, () => resolve((server.address() as AddressInfo).port))
  })
}

beforeAll(async () => {
  const count = (socket: Socket) => {
    connections++
    sockets.add(socket)
    socket.end('HTTP/1.1 204 No Content\r\n\r\n')
  }
  canaryV4 = createServer(count)
  canaryV6 = createServer(count)
  port = await listen(canaryV4, '127.0.0.1')
  await listen(canaryV6, '::1', port).catch(() => undefined)
})

afterAll(async () => {
  for (const socket of sockets) socket.destroy()
  await new Promise((resolve) => canaryV4.close(resolve))
  await new Promise((resolve) => canaryV6.close(resolve))
})

/** A resolver from a table; a name it does not know does not exist. */
function tableResolver(table: Record<string, string[] | (() => string[])>): Resolver {
  return (hostname) => {
    const entry = table[hostname]
    const addresses = typeof entry === 'function' ? entry() : entry
    if (!addresses) {
      return Promise.reject(
        Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
      )
    }
    return Promise.resolve(
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
    )
  }
}

function post(url: string, agents: ReturnType<typeof createGuardedAgents>): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent: agents.http }, (res) => {
      res.resume()
      resolve(`status_${res.statusCode}`)
    })
    req.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
    req.end('{}')
  })
}

const SPELLINGS = () => [
  `http://127.0.0.1:${port}/`,
  `http://127.1:${port}/`,
  `http://0x7f.0.0.1:${port}/`,
  `http://0x7f000001:${port}/`,
  `http://2130706433:${port}/`,
  `http://0177.0.0.1:${port}/`,
  `http://017700000001:${port}/`,
  `http://127.000.000.001:${port}/`,
  `http://0.0.0.0:${port}/`,
  `http://0:${port}/`,
  `http://[::1]:${port}/`,
  `http://[0:0:0:0:0:0:0:1]:${port}/`,
  `http://[::ffff:127.0.0.1]:${port}/`,
  `http://[::ffff:7f00:1]:${port}/`,
  `http://[::]:${port}/`,
  `http://localhost:${port}/`,
  `http://loopback.test:${port}/`,
  `http://v6-loopback.test:${port}/`,
  `http://mapped.test:${port}/`,
  `http://mixed.test:${port}/`,
]

const resolver = tableResolver({
  localhost: ['127.0.0.1', '::1'],
  'loopback.test': ['127.0.0.1'],
  'v6-loopback.test': ['::1'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'mixed.test': ['93.184.215.14', '127.0.0.1'],
})

describe('checkUrl() at registration', () => {
  it('when the URL leads to a loopback address in any spelling or by any name, refuses it', async () => {
    const before = connections
    const refused = []
    for (const url of SPELLINGS()) {
      refused.push(
        await checkUrl(url, { resolver }).then(
          () => url,
          (error: unknown) => error
        )
      )
    }

    expect(refused.every((outcome) => outcome instanceof SsrfBlockedError)).toBe(true)
    expect(connections - before).toBe(0)
  })

  it('when the URL is not http(s) or carries credentials, refuses it', async () => {
    await expect(checkUrl('file:///etc/passwd', { resolver })).rejects.toThrow(TypeError)
    await expect(
      checkUrl('http://u:p@public.test/', {
        resolver: tableResolver({ 'public.test': ['93.184.215.14'] }),
      })
    ).rejects.toThrow(/credentials/)
  })

  it('when the host resolves only to public addresses, accepts it without connecting', async () => {
    const before = connections

    const url = await checkUrl('https://hooks.public.test/in', {
      resolver: tableResolver({
        'hooks.public.test': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
      }),
    })

    expect(url.hostname).toBe('hooks.public.test')
    expect(connections).toBe(before)
  })
})

describe('createGuardedAgents() at connect time', () => {
  it('when a request goes to a loopback address in any spelling or by any name, the canary sees 0 connections', async () => {
    const before = connections
    const agents = createGuardedAgents({ resolver, policy: createAddressPolicy() })

    const outcomes = await Promise.all(SPELLINGS().map((url) => post(url, agents)))

    expect(outcomes).toEqual(SPELLINGS().map(() => 'ERR_SSRF_BLOCKED'))
    expect(connections - before).toBe(0)
  })

  it('when DNS rebinds (public at registration, loopback at send), the send is refused and the canary sees 0', async () => {
    const before = connections
    let calls = 0
    const rebinding = tableResolver({
      'rebind.test': () => (++calls === 1 ? ['93.184.215.14'] : ['127.0.0.1']),
    })
    const agents = createGuardedAgents({ resolver: rebinding })

    await checkUrl(`http://rebind.test:${port}/`, { resolver: rebinding })
    const outcome = await post(`http://rebind.test:${port}/`, agents)

    expect(outcome).toBe('ERR_SSRF_BLOCKED')
    expect(calls).toBe(2)
    expect(connections - before).toBe(0)
  })

  it('when an allowlisted receiver redirects to the canary, the redirect is not followed and the canary sees 0', async () => {
    const before = connections
    const receiver = http.createServer((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/` }).end()
    })
    const receiverPort = await new Promise<number>((resolve) =>
      receiver.listen(0, '127.0.0.2', () => resolve((receiver.address() as AddressInfo).port))
    )
    const agents = createGuardedAgents({ policy: createAddressPolicy({ allow: ['127.0.0.2/32'] }) })

    const outcome = await post(`http://127.0.0.2:${receiverPort}/`, agents)
    receiver.closeAllConnections()
    await new Promise((resolve) => receiver.close(resolve))

    expect(outcome).toBe('status_302')
    expect(connections - before).toBe(0)
  })

  it('when no guard is used, the canary counts the connection (so its 0 elsewhere means something)', async () => {
    const before = connections

    const outcome = await post(`http://127.0.0.1:${port}/`, { http: new http.Agent() } as never)

    expect(outcome).toBe('status_204')
    expect(connections - before).toBe(1)
  })

  it('when the address is allowlisted, the request reaches it', async () => {
    const receiver = http.createServer((_req, res) => res.writeHead(204).end())
    const receiverPort = await new Promise<number>((resolve) =>
      receiver.listen(0, '127.0.0.2', () => resolve((receiver.address() as AddressInfo).port))
    )
    const agents = createGuardedAgents({
      resolver: tableResolver({ 'partner.test': ['127.0.0.2'] }),
      policy: createAddressPolicy({ allow: ['127.0.0.2/32'] }),
    })

    const outcome = await post(`http://partner.test:${receiverPort}/`, agents)
    agents.http.destroy()
    receiver.closeAllConnections()
    await new Promise((resolve) => receiver.close(resolve))

    expect(outcome).toBe('status_204')
  })
})
