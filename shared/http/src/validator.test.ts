import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { errorHandler, type Problem } from './errors.ts'
import { captureLogger } from './test-helpers.ts'
import { toFieldErrors, validator } from './validator.ts'

const linkSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  a: z.object({ b: z.array(z.number().int()) }).optional(),
})

function buildApp() {
  const { logger } = captureLogger()
  const app = new Hono()
  const written: unknown[] = []
  app.post('/links', validator('json', linkSchema), (c) => {
    const body = c.req.valid('json')
    written.push(body)
    return c.json({ url: body.url, first: body.a?.b[0] ?? null }, 201)
  })
  app.get('/search', validator('query', z.object({ limit: z.coerce.number().max(100) })), (c) =>
    c.json({ limit: c.req.valid('query').limit })
  )
  app.onError(errorHandler({ logger }))
  return { app, written }
}

function postJson(app: Hono, body: string) {
  return app.request('/links', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })
}

describe('validator()', () => {
  it('when the body is valid, the handler gets the parsed, typed value', async () => {
    const { app, written } = buildApp()

    const res = await postJson(app, JSON.stringify({ url: 'https://example.com', a: { b: [7] } }))

    expect(res.status).toBe(201)
    expect(await res.json()).toEqual({ url: 'https://example.com', first: 7 })
    expect(written).toHaveLength(1)
  })

  it('when a nested field is invalid, answers 400 naming the dotted path and never runs the handler', async () => {
    const { app, written } = buildApp()

    const res = await postJson(app, JSON.stringify({ url: 'https://example.com', a: { b: ['x'] } }))

    expect(res.status).toBe(400)
    const body = (await res.json()) as Problem
    expect(body.code).toBe('validation_failed')
    expect(body.detail).toBe('Invalid request body')
    expect(body.errors).toEqual([
      { path: 'a.b.0', message: expect.stringContaining('expected number') },
    ])
    expect(written).toHaveLength(0)
  })

  it('when the url is not http(s), answers 400 naming "url"', async () => {
    const { app } = buildApp()

    const res = await postJson(app, JSON.stringify({ url: 'javascript:alert(1)' }))

    expect(res.status).toBe(400)
    const body = (await res.json()) as Problem
    expect(body.errors?.map((i) => i.path)).toEqual(['url'])
  })

  it('when the body has an unknown field, answers 400 naming that field', async () => {
    const { app } = buildApp()

    const res = await postJson(app, JSON.stringify({ url: 'https://example.com', admin: true }))

    expect(res.status).toBe(400)
    expect(((await res.json()) as Problem).errors).toEqual([
      { path: 'admin', message: 'Unknown field' },
    ])
  })

  it('when the JSON is malformed, answers 400 malformed_json', async () => {
    const { app, written } = buildApp()

    const res = await postJson(app, '{"url": "https://exa')

    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect((await res.json()) as Problem).toMatchObject({
      status: 400,
      code: 'malformed_json',
      detail: 'Malformed JSON in request body',
    })
    expect(written).toHaveLength(0)
  })

  it('when the body is not JSON at all, answers 400 with the issue on the root fields', async () => {
    const { app } = buildApp()

    const res = await app.request('/links', { method: 'POST', body: 'url=x' })

    expect(res.status).toBe(400)
    expect(((await res.json()) as Problem).errors?.[0]?.path).toBe('url')
  })

  it('when a query parameter is invalid, says "Invalid request query" and names it', async () => {
    const { app } = buildApp()

    const res = await app.request('/search?limit=1000')

    expect(res.status).toBe(400)
    const error = (await res.json()) as Problem
    expect(error.detail).toBe('Invalid request query')
    expect(error.errors?.[0]?.path).toBe('limit')
  })
})

describe('toFieldErrors()', () => {
  it('when paths hold numbers and symbols, joins them with dots; the root is ""', () => {
    const key = Symbol('meta')
    const result = z
      .object({ [key]: z.string(), links: z.array(z.object({ url: z.string() })) })
      .safeParse({ [key]: 1, links: [{}, { url: 2 }] })
    const root = z.string().safeParse(1)

    expect(toFieldErrors(result.error!).map((i) => i.path)).toEqual([
      'links.0.url',
      'links.1.url',
      'meta',
    ])
    expect(toFieldErrors(root.error!)).toEqual([{ path: '', message: expect.any(String) }])
  })
})
