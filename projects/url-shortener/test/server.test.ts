import { request as httpRequest } from 'node:http'
import { createLogger, serveApp } from '@kit/http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { linkTotals } from '../src/analytics/analytics-queries.ts'
import { openServiceDatabase } from '../src/database.ts'
import { API_KEY, buildTestApp, MIGRATIONS, openTestDatabase } from './helpers.ts'

/** A POST with Transfer-Encoding: chunked and no Content-Length, over a real socket. */
function postChunked(url: string, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', headers: { 'Content-Type': 'application/json' } },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      }
    )
    req.on('error', reject)
    for (const chunk of chunks) req.write(chunk)
    req.end()
  })
}

/** The app over a real socket, as main.ts wires it: on shutdown, clicks flushed, then the DB closed. */
async function startServer(label: string) {
  const database = openTestDatabase(label)
  const instance = buildTestApp({ database })
  const server = await serveApp(instance.app, {
    port: 0,
    hostname: '127.0.0.1',
    logger: createLogger({ level: 'silent' }),
    handleSignals: false,
    async onShutdown() {
      await instance.close()
      await database.close()
    },
  })
  return { database, instance, server }
}

describe('over a real socket', () => {
  let started: Awaited<ReturnType<typeof startServer>>
  beforeAll(async () => {
    started = await startServer('server')
  })
  afterAll(async () => {
    await started.server.shutdown('test done')
    await started.database.cleanup()
  })

  it('when a link is created and followed with fetch, the redirect carries the target', async () => {
    const { server } = started
    const created = await fetch(`${server.url}/api/links`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: 'https://example.com/socket' }),
    })
    const { code } = (await created.json()) as { code: string }

    const res = await fetch(`${server.url}/${code}`, { redirect: 'manual' })

    expect(created.status).toBe(201)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('https://example.com/socket')
    expect(res.headers.get('x-request-id')).toMatch(/^[\w-]+$/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('when a chunked body grows past 16 KiB, responds 413', async () => {
    const chunks = Array.from({ length: 20 }, (_, i) =>
      i === 0 ? '{"url":"https://example.com/?q=' : 'a'.repeat(1024)
    )

    const res = await postChunked(`${started.server.url}/api/links`, chunks)

    expect(res.status).toBe(413)
    expect(JSON.parse(res.body)).toMatchObject({ code: 'payload_too_large' })
  })

  it('when a declared Content-Length is over 16 KiB, responds 413 without reading the body', async () => {
    const res = await fetch(`${started.server.url}/api/links`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: `https://example.com/?q=${'a'.repeat(17 * 1024)}` }),
    })

    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ code: 'payload_too_large' })
  })

  it('when a body within the limit arrives chunked, it is read and validated', async () => {
    const chunks = ['{"url":', '"https://example.com/', 'chunked"}']

    const res = await postChunked(`${started.server.url}/api/links`, chunks)

    expect(res.status).toBe(201)
    expect(JSON.parse(res.body)).toMatchObject({ target: 'https://example.com/chunked' })
  })
})

describe('shutdown over a real socket', () => {
  it('when the server shuts down, clicks recorded before are written to SQLite', async () => {
    const { database, instance, server } = await startServer('shutdown')
    const created = await fetch(`${server.url}/api/links`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': API_KEY },
      body: JSON.stringify({ url: 'https://example.com/flush-on-stop' }),
    })
    const { code } = (await created.json()) as { code: string }
    const id = instance.links.get(code)?.id as number
    await instance.clicks?.flush()
    await Promise.all(
      Array.from({ length: 50 }, () => fetch(`${server.url}/${code}`, { redirect: 'manual' }))
    )
    const pendingBeforeStop = instance.clicks?.pending()

    await server.shutdown('test')

    const reopened = openServiceDatabase(database.path, { migrationsFolder: MIGRATIONS })
    const totals = linkTotals(reopened.db, id)
    await reopened.close()
    await database.cleanup()
    expect(pendingBeforeStop).toBe(50)
    expect(database.sqlite.open).toBe(false)
    expect(totals.total).toBe(50)
  })
})
