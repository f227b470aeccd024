import { afterAll, describe, expect, it } from 'vitest'
import { buildTestApp } from './helpers.ts'

type Operation = {
  security?: unknown[]
  requestBody?: { content: Record<string, unknown> }
  parameters?: { in: string; name: string }[]
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>
}
type Document = {
  openapi: string
  info: { title: string }
  paths: Record<string, Record<string, Operation>>
  components: { securitySchemes: Record<string, unknown> }
}

/** A Hono route path in OpenAPI form: `:code` → `{code}`, a trailing `*` → `{path}`. */
function openApiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{path}')
}

describe('GET /openapi.json', () => {
  const { app, close } = buildTestApp()
  afterAll(close)
  const documented = async () => (await (await app.request('/openapi.json')).json()) as Document

  it('when read, is an OpenAPI 3.1 document with the two ways to send the API key', async () => {
    const doc = await documented()

    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info.title).toBe('URL shortener')
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'bearer'])
  })

  it('when every route the app serves is looked up, each has an operation, the preview included', async () => {
    const doc = await documented()
    const served = app.routes
      .filter(({ method }) => method !== 'ALL')
      .filter(({ path }) => path !== '/openapi.json' && !path.startsWith('/docs'))
      .map(({ method, path }) => `${method} ${openApiPath(path)}`)

    const missing = [...new Set(served), 'GET /{code}+'].filter((route) => {
      const [method, path] = route.split(' ') as [string, string]
      return doc.paths[path]?.[method.toLowerCase()] === undefined
    })

    expect(served.length).toBeGreaterThanOrEqual(18)
    expect(missing).toEqual([])
  })

  it('when an operation can fail, each of its errors is a Problem in application/problem+json, with the statuses its guards produce', async () => {
    const doc = await documented()
    const wrong: string[] = []

    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const name = `${method.toUpperCase()} ${path}`
        const statuses = Object.keys(operation.responses)
        const expected = [
          ...(path.startsWith('/api/') ? ['400'] : []),
          ...(operation.security ? ['401'] : []),
          ...(operation.requestBody?.content['application/json'] ? ['413', '415'] : []),
          ...(operation.requestBody?.content['text/csv'] ? ['413', '415'] : []),
          ...(operation.parameters?.some((p) => p.in === 'path' && p.name === 'code')
            ? ['404']
            : []),
        ]
        for (const status of expected.filter((s) => !statuses.includes(s))) {
          wrong.push(`${name}: ${status} not documented`)
        }
        for (const status of statuses.filter((s) => Number(s) >= 400 && path !== '/readyz')) {
          const ref = operation.responses[status]?.content?.['application/problem+json']?.schema
          if (ref?.$ref !== '#/components/schemas/Problem') {
            wrong.push(`${name}: ${status} is not a Problem`)
          }
        }
      }
    }

    expect(wrong).toEqual([])
  })

  it('when /docs is asked, serves the reference page', async () => {
    const res = await app.request('/docs')

    expect(res.status).toBe(200)
    expect(await res.text()).toContain('swagger-ui-bundle.js')
  })
})
