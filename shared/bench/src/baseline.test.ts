import { describe, expect, it } from 'vitest'
import { createBaselineApp, parseShapes } from './baseline.ts'

describe('createBaselineApp', () => {
  it('when the shape is redirect, GET /:code answers 302 to https://example.com/<code>', async () => {
    const app = createBaselineApp('redirect')

    const res = await app.request('/abc123')

    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('https://example.com/abc123')
  })

  it('when the shape is json, POST answers 201 with a JSON body, and 400 on a malformed one', async () => {
    const app = createBaselineApp('json')

    const created = await app.request('/api/links', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://example.com/' }),
    })
    const malformed = await app.request('/api/links', { method: 'POST', body: '{' })

    expect(created.status).toBe(201)
    expect(await created.json()).toEqual({ id: 1, code: '1' })
    expect(malformed.status).toBe(400)
  })

  it('when the shape is text, GET anything answers 200 ok', async () => {
    const app = createBaselineApp('text')

    const res = await app.request('/anything/at/all')

    expect(res.status).toBe(200)
    expect(await res.text()).toBe('ok')
  })

  it('when shapes are combined, serves each route (json creates, redirect follows)', async () => {
    const app = createBaselineApp(['json', 'redirect'])

    const created = await app.request('/api/links', {
      method: 'POST',
      body: '{"url":"https://a.example"}',
    })
    const { code } = (await created.json()) as { code: string }
    const redirected = await app.request(`/${code}`)

    expect(created.status).toBe(201)
    expect(redirected.status).toBe(302)
    expect(redirected.headers.get('location')).toBe(`https://example.com/${code}`)
  })

  it('when the middleware is hono, answers the same behind a request id, secure headers and a counted request', async () => {
    const app = createBaselineApp('redirect', 'hono')

    const res = await app.request('/abc123')
    const bare = await createBaselineApp('redirect').request('/abc123')

    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('https://example.com/abc123')
    expect(res.headers.get('x-request-id')).toMatch(/\S/)
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/)
    expect(bare.headers.get('x-request-id')).toBeNull()
    expect(bare.headers.get('x-frame-options')).toBeNull()
  })

  it('in every shape, GET /healthz answers 200', async () => {
    for (const shape of ['redirect', 'json', 'text'] as const) {
      const res = await createBaselineApp(shape).request('/healthz')

      expect(res.status).toBe(200)
    }
  })
})

describe('parseShapes', () => {
  it('when given one or several known shapes, returns them in order; otherwise null', () => {
    expect(parseShapes('redirect')).toEqual(['redirect'])
    expect(parseShapes('json, redirect')).toEqual(['json', 'redirect'])
    expect(parseShapes('nope')).toBeNull()
    expect(parseShapes(undefined)).toBeNull()
  })
})
