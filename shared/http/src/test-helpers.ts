import { request } from 'node:http'
import type { Logger } from 'pino'
import { createLogger } from './logger.ts'

/** A real pino logger whose JSON lines are kept in `lines` (for tests of this package). */
export function captureLogger(level = 'info'): {
  logger: Logger
  lines: Record<string, unknown>[]
} {
  const lines: Record<string, unknown>[] = []
  const logger = createLogger({
    level,
    destination: {
      write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
    },
  })
  return { logger, lines }
}

/** POSTs `chunks` with Transfer-Encoding: chunked (no Content-Length) over a real socket. */
export function postChunked(
  url: string,
  chunks: string[]
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    })
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    // The server may answer 413 and close before the last chunk is written; the response
    // is what the test asserts, so a write error after it is expected.
    req.on('error', reject)
    for (const chunk of chunks) req.write(chunk)
    req.end()
  })
}

/** GET over a NEW connection (no pooled keep-alive socket), so refusals are observable. */
export function getFresh(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** A promise with its resolve function outside (Promise.withResolvers is Node >= 22). */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}
