import { createRoute, z } from '@hono/zod-openapi'
import { launchChromium } from '@kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorHandler, notFoundHandler } from './errors.ts'
import { kitMiddleware } from './kit-middleware.ts'
import {
  createOpenApiApp,
  jsonBody,
  jsonResponse,
  problemResponses,
  serveApiDocs,
} from './openapi.ts'
import { serveApp, type ServedApp } from './serve-app.ts'
import { captureLogger } from './test-helpers.ts'

const Note = z.object({ id: z.string(), text: z.string() }).openapi('Note')

function buildApp() {
  const { logger } = captureLogger()
  const app = createOpenApiApp()
  app.use(kitMiddleware({ logger }))
  app.onError(errorHandler({ logger }))
  app.notFound(notFoundHandler)
  app.openapi(
    createRoute({
      method: 'post',
      path: '/notes',
      request: { body: jsonBody(z.strictObject({ text: z.string().min(1).max(10) })) },
      responses: { 201: jsonResponse(Note, 'The new note'), ...problemResponses(400, 413) },
    }),
    (c) => c.json({ id: 'n1', text: c.req.valid('json').text }, 201)
  )
  serveApiDocs(app, { title: 'Notes', version: '1.2.3' })
  return { app, logger }
}

describe('createOpenApiApp()', () => {
  it('when a body fails its schema, answers the kit problem naming the field', async () => {
    const { app } = buildApp()

    const res = await app.request('/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: '', extra: 1 }),
    })

    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const body = (await res.json()) as { code: string; errors: { path: string }[] }
    expect(body.code).toBe('validation_failed')
    expect(body.errors.map((error) => error.path).sort()).toEqual(['extra', 'text'])
  })

  it('when the body is valid, runs the handler with the parsed value', async () => {
    const { app } = buildApp()

    const res = await app.request('/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'hi' }),
    })

    expect(res.status).toBe(201)
    expect(await res.json()).toEqual({ id: 'n1', text: 'hi' })
  })
})

describe('serveApiDocs()', () => {
  it('when /openapi.json is read, describes each route with its request and error responses', async () => {
    const { app } = buildApp()

    const doc = (await (await app.request('/openapi.json')).json()) as {
      openapi: string
      info: { title: string; version: string }
      paths: Record<string, Record<string, { responses: Record<string, { content: object }> }>>
      components: { schemas: Record<string, unknown> }
    }

    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info).toEqual({ title: 'Notes', version: '1.2.3' })
    const post = doc.paths['/notes']?.post
    expect(Object.keys(post?.responses ?? {}).sort()).toEqual(['201', '400', '413'])
    expect(Object.keys(post?.responses['400']?.content ?? {})).toEqual(['application/problem+json'])
    expect(Object.keys(doc.components.schemas).sort()).toEqual(['Note', 'Problem'])
  })

  describe('in a headless browser', () => {
    let served: ServedApp
    let browser: Awaited<ReturnType<typeof launchChromium>>

    beforeAll(async () => {
      const { app, logger } = buildApp()
      served = await serveApp(app, { port: 0, hostname: '127.0.0.1', logger, handleSignals: false })
      browser = await launchChromium()
    }, 30_000)
    afterAll(async () => {
      await browser?.close()
      await served?.shutdown()
    })

    it('when /docs opens, renders every route from assets the app serves itself', async () => {
      const page = await browser.newPage()
      const foreign: string[] = []
      page.on('request', (request) => {
        if (!request.url().startsWith(served.url)) foreign.push(request.url())
      })

      await page.goto(`${served.url}/docs`)

      await page.locator('.opblock-summary-path', { hasText: '/notes' }).waitFor()
      expect(await page.locator('.info .title').innerText()).toContain('Notes')
      expect(foreign).toEqual([])
    }, 30_000)
  })
})
