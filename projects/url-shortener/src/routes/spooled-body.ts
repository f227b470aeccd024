import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'

/** The body grew past the limit while it was read (a chunked upload declares no length). */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`Body exceeds ${maxBytes} bytes`)
    this.name = this.constructor.name
  }
}

export type SpooledBody = {
  /** A temporary file holding the whole body. */
  path: string
  bytes: number
  /** Removes the file. */
  cleanup(): Promise<void>
}

/**
 * Writes a request body to a temporary file, counting bytes, and fails with BodyTooLargeError
 * (the file removed) as soon as it passes `maxBytes`. An import reads the file afterwards, so
 * a body over the limit is refused before a single row is written, with or without a
 * Content-Length, and memory stays bounded by one chunk whatever the body's size.
 *
 * @example
 * ```ts
 * const spooled = await spoolBody(c.req.raw.body, 32 * 1024 * 1024)
 * try { await importFrom(createReadStream(spooled.path)) } finally { await spooled.cleanup() }
 * ```
 */
export async function spoolBody(
  body: ReadableStream<Uint8Array>,
  maxBytes: number
): Promise<SpooledBody> {
  const dir = await mkdtemp(join(tmpdir(), 'url-shortener-upload-'))
  const path = join(dir, 'body')
  const cleanup = () => rm(dir, { recursive: true, force: true })
  let bytes = 0
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length
      done(bytes > maxBytes ? new BodyTooLargeError(maxBytes) : null, chunk)
    },
  })
  try {
    await pipeline(
      Readable.fromWeb(body as Parameters<typeof Readable.fromWeb>[0]),
      limit,
      createWriteStream(path)
    )
  } catch (error) {
    await cleanup()
    throw error
  }
  return { path, bytes, cleanup }
}
