import { beforeAll, describe, expect, it } from 'vitest'
import { startChat, tokenFor, type RunningChat } from './helpers.ts'

let server: RunningChat
beforeAll(async () => {
  server = await startChat()
  return () => server.stop()
})

/** In-process, through the same app the socket serves. */
const request = (path: string, init: RequestInit & { token?: string; json?: unknown } = {}) => {
  const { token, json, ...rest } = init
  return server.chat.app.request(path, {
    ...rest,
    headers: {
      ...(json !== undefined && { 'content-type': 'application/json' }),
      ...(token && { authorization: `Bearer ${token}` }),
    },
    ...(json !== undefined && { body: JSON.stringify(json) }),
  })
}

describe('POST /api/tokens', () => {
  it('when the user id is valid, answers 201 with a token that expires', async () => {
    const res = await request('/api/tokens', { method: 'POST', json: { user: 'ada' } })

    expect(res.status).toBe(201)
    const body = (await res.json()) as { token: string; user: string; expiresAt: number }
    expect(body.user).toBe('ada')
    expect(body.expiresAt).toBeGreaterThan(Date.now())
    expect(body.token.split('.')).toHaveLength(3)
  })

  it('when the user id is invalid or a field is unknown, answers 400 naming each field', async () => {
    const res = await request('/api/tokens', {
      method: 'POST',
      json: { user: 'Ada Lovelace', admin: true },
    })

    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const body = (await res.json()) as { code: string; errors: { path: string }[] }
    expect(body.code).toBe('validation_failed')
    expect(body.errors.map((e) => e.path).sort()).toEqual(['admin', 'user'])
  })
})

describe('/api/rooms', () => {
  it('when no bearer token is sent, answers 401 with WWW-Authenticate', async () => {
    const res = await request('/api/rooms')

    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="chat"/)
    expect(await res.json()).toMatchObject({ code: 'token_missing', status: 401 })
  })

  it('when a room is created, joined, listed and left, each answer is what the route says', async () => {
    const ada = await tokenFor(server.url, 'ada')
    const bob = await tokenFor(server.url, 'bob')

    const created = await request('/api/rooms', {
      method: 'POST',
      token: ada,
      json: { name: ' general ' },
    })
    const room = (await created.json()) as { id: string; name: string; kind: string }
    const joined = await request(`/api/rooms/${room.id}/members`, { method: 'POST', token: bob })
    const again = await request(`/api/rooms/${room.id}/members`, { method: 'POST', token: bob })
    const members = (await (
      await request(`/api/rooms/${room.id}/members`, { token: ada })
    ).json()) as {
      members: { user: string }[]
    }
    const left = await request(`/api/rooms/${room.id}/members/me`, { method: 'DELETE', token: bob })
    const afterLeaving = await request(`/api/rooms/${room.id}/messages`, { token: bob })

    expect([created.status, room.name, room.kind]).toEqual([201, 'general', 'group'])
    expect([joined.status, again.status]).toEqual([201, 200])
    expect(members.members.map((m) => m.user)).toEqual(['ada', 'bob'])
    expect(left.status).toBe(204)
    expect(afterLeaving.status).toBe(403)
  })

  it('when a room does not exist, a direct room is left or a body is too large, answers the problem for it', async () => {
    const ada = await tokenFor(server.url, 'ada')
    const direct = (await (
      await request('/api/rooms/direct', { method: 'POST', token: ada, json: { with: 'bob' } })
    ).json()) as {
      id: string
    }

    const missing = await request('/api/rooms/g-nothing', { token: ada })
    const leaveDirect = await request(`/api/rooms/${direct.id}/members/me`, {
      method: 'DELETE',
      token: ada,
    })
    const self = await request('/api/rooms/direct', {
      method: 'POST',
      token: ada,
      json: { with: 'ada' },
    })
    const large = await request('/api/rooms', {
      method: 'POST',
      token: ada,
      json: { name: 'x'.repeat(20_000) },
    })

    expect([missing.status, ((await missing.json()) as { code: string }).code]).toEqual([
      404,
      'room_not_found',
    ])
    expect(leaveDirect.status).toBe(409)
    expect([
      self.status,
      ((await self.json()) as { errors: { path: string }[] }).errors[0]!.path,
    ]).toEqual([400, 'with'])
    expect(large.status).toBe(413)
  })
})

describe('GET /', () => {
  it('when a browser asks for the page, answers the client with the subprotocol it will speak', async () => {
    const res = await request('/')

    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await res.text()).toContain("['chat.v1', 'bearer.' + state.token]")
  })
})

describe('GET /metrics', () => {
  it('when scraped, exposes the chat gauges and counters', async () => {
    const text = await (await request('/metrics')).text()

    for (const name of [
      'chat_connections',
      'chat_deliveries_total',
      'chat_messages_stored_total',
      'chat_slow_consumers_total',
    ]) {
      expect(text).toContain(name)
    }
  })
})

describe('GET /openapi.json', () => {
  it('when read, describes every API route and the WebSocket with their error responses', async () => {
    const doc = (await (await request('/openapi.json')).json()) as {
      openapi: string
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
    }
    const routes = server.chat.app.routes
      .filter((r) => (r.path.startsWith('/api/') || r.path === '/ws') && r.method !== 'ALL')
      .map((r) => [r.method.toLowerCase(), r.path.replace(/:(\w+)/g, '{$1}')] as const)

    expect(doc.openapi).toBe('3.1.0')
    expect(routes.length).toBeGreaterThanOrEqual(11)
    for (const [method, path] of routes) {
      const operation = doc.paths[path]?.[method]
      expect(operation, `${method} ${path}`).toBeDefined()
      const statuses = Object.keys(operation!.responses)
      if (path !== '/api/tokens') expect(statuses, `${method} ${path}`).toContain('401')
      if (path.includes('{room}')) expect(statuses, `${method} ${path}`).toContain('404')
      // Whatever takes input (a body, a room id) says how it refuses it.
      const takesInput = path.includes('{room}') || (method !== 'get' && path !== '/api/logout')
      if (takesInput) expect(statuses, `${method} ${path}`).toContain('400')
    }
    expect(Object.keys(doc.paths['/ws']!.get!.responses).sort()).toEqual([
      '101',
      '401',
      '403',
      '429',
      '503',
    ])
  })
})
