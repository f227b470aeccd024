import { createLogger } from '@kit/http'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.ts'
import { createService } from '../src/service.ts'

type Operation = {
  responses: Record<string, { content?: Record<string, unknown>; headers?: object }>
}
type OpenApiDocument = { openapi: string; paths: Record<string, Record<string, Operation>> }

/** The service as main.ts builds it (memory backend), its OpenAPI document and its routes. */
async function documented() {
  const service = createService(loadConfig({}), {
    logger: createLogger({ name: 'openapi-test', level: 'silent' }),
  })
  const response = await service.app.request('/openapi.json')
  const document = (await response.json()) as OpenApiDocument
  await service.close()
  // What the app answers, as OpenAPI spells paths; the docs' own routes are not API routes.
  const routes = service.app.routes
    .filter((route) => route.method !== 'ALL')
    .filter((route) => route.path !== '/openapi.json' && !route.path.startsWith('/docs'))
    .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`)
  return { response, document, routes: [...new Set(routes)].sort() }
}

/** Every route and the statuses it answers, errors included. */
const EXPECTED: Record<string, string[]> = {
  'get /healthz': ['200'],
  'get /readyz': ['200', '503'],
  'get /metrics': ['200'],
  'get /api/resource': ['200', '429', '503'],
  'post /api/reports': ['202', '413', '429', '503'],
  'get /api/search': ['200', '400', '429', '503'],
  'post /api/uploads': ['201', '400', '413', '429', '503'],
  'get /api/priority': ['200', '400', '429', '503'],
  'get /api/algorithms/{algorithm}': ['200', '400', '429', '503'],
  'post /api/decisions': ['200', '400', '413', '429', '503'],
}

describe('GET /openapi.json', () => {
  it('when read, describes every route the app serves, and nothing else', async () => {
    const { response, document, routes } = await documented()

    expect(response.status).toBe(200)
    expect(document.openapi).toBe('3.1.0')
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method} ${path}`)
    )
    expect(operations.sort()).toEqual(routes)
    expect(routes).toEqual(Object.keys(EXPECTED).sort())
  })

  it("when read, lists each route's responses, every error as application/problem+json", async () => {
    const { document } = await documented()

    for (const [operation, statuses] of Object.entries(EXPECTED)) {
      const [method, path] = operation.split(' ') as [string, string]
      const responses = document.paths[path]?.[method]?.responses ?? {}
      expect({ operation, statuses: Object.keys(responses).sort() }).toEqual({
        operation,
        statuses,
      })
      if (!path.startsWith('/api/')) continue
      for (const [status, answer] of Object.entries(responses)) {
        if (Number(status) < 400) continue
        expect({ operation, status, types: Object.keys(answer.content ?? {}) }).toEqual({
          operation,
          status,
          types: ['application/problem+json'],
        })
      }
    }
  })

  it('when read, documents the RateLimit fields of the limited answers and Retry-After of a 429', async () => {
    const { document } = await documented()
    const search = document.paths['/api/search']?.get?.responses ?? {}

    expect(Object.keys(search['200']?.headers ?? {}).sort()).toEqual([
      'RateLimit',
      'RateLimit-Policy',
    ])
    expect(Object.keys(search['429']?.headers ?? {}).sort()).toEqual([
      'RateLimit',
      'RateLimit-Policy',
      'Retry-After',
    ])
  })
})

describe('GET /docs', () => {
  it('when opened, serves the reference page for the document', async () => {
    const service = createService(loadConfig({}), {
      logger: createLogger({ name: 'openapi-test', level: 'silent' }),
    })

    const page = await service.app.request('/docs')
    const init = await service.app.request('/docs/assets/init.js')
    await service.close()

    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await page.text()).toContain('/docs/assets/init.js')
    expect(await init.text()).toContain('"/openapi.json"')
  })
})
