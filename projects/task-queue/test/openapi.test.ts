import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from './helpers.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t.close())

type Doc = {
  openapi: string
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
  >
}

/** Every route of the API with the statuses it can answer. */
const ROUTES: [string, string, string[]][] = [
  ['post', '/api/jobs', ['200', '201', '400', '413', '422', '503']],
  ['post', '/api/jobs/bulk', ['201', '400', '413', '422', '503']],
  ['get', '/api/jobs/{id}', ['200', '400', '404', '503']],
  ['delete', '/api/jobs/{id}', ['200', '202', '400', '404', '409', '503']],
  ['get', '/api/schedulers', ['200', '503']],
  ['get', '/api/schedulers/{id}', ['200', '400', '404', '503']],
  ['put', '/api/schedulers/{id}', ['200', '400', '401', '413', '503']],
  ['delete', '/api/schedulers/{id}', ['204', '400', '401', '404', '503']],
  ['get', '/api/queue', ['200', '503']],
  ['post', '/api/queue/pause', ['200', '401', '503']],
  ['post', '/api/queue/resume', ['200', '401', '503']],
  ['put', '/api/queue/limits', ['200', '400', '401', '503']],
  ['get', '/api/dead-letters', ['200', '400', '503']],
  ['get', '/api/dead-letters/{id}', ['200', '400', '404', '503']],
  ['post', '/api/dead-letters/{id}/replay', ['200', '400', '401', '404', '503']],
  ['delete', '/api/dead-letters/{id}', ['204', '400', '401', '404', '503']],
  ['delete', '/api/dead-letters', ['200', '401', '503']],
]

describe('GET /openapi.json', () => {
  it('when read, describes every route with each of its responses, errors as problem+json', async () => {
    const doc = (await (await t.app.request('/openapi.json')).json()) as Doc

    expect(doc.openapi).toBe('3.1.0')
    for (const [method, path, statuses] of ROUTES) {
      const operation = doc.paths[path]?.[method]
      expect(operation, `${method} ${path}`).toBeDefined()
      expect(Object.keys(operation!.responses).sort(), `${method} ${path}`).toEqual(
        [...statuses].sort()
      )
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        expect(
          Object.keys(operation!.responses[status]!.content ?? {}),
          `${method} ${path} ${status}`
        ).toEqual(['application/problem+json'])
      }
    }
    expect(
      Object.keys(doc.paths)
        .filter((p) => p.startsWith('/api/'))
        .sort()
    ).toEqual([...new Set(ROUTES.map(([, p]) => p))].sort())
  })

  it('when the job request is read, each job type names its payload schema', async () => {
    const doc = (await (await t.app.request('/openapi.json')).json()) as {
      components: { schemas: Record<string, unknown> }
    }

    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        'JobRequest',
        'EmailSend',
        'ReportRender',
        'WebhookDeliver',
        'DemoSimulate',
        'Problem',
        'Job',
      ])
    )
  })
})

describe('GET /docs', () => {
  it('when requested, serves the reference page from its own assets', async () => {
    const page = await t.app.request('/docs')
    const bundle = await t.app.request('/docs/assets/swagger-ui-bundle.js')

    expect(page.status).toBe(200)
    expect(await page.text()).toContain('/docs/assets/swagger-ui-bundle.js')
    expect(bundle.status).toBe(200)
  })
})
