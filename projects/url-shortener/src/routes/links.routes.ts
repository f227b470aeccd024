import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { createRoute, z } from '@hono/zod-openapi'
import {
  createOpenApiApp,
  HttpError,
  jsonBody,
  jsonResponse,
  problemBody,
  problemResponses,
  toFieldErrors,
} from '@kit/http'
import type { Problem } from '@kit/http'
import type { Context, MiddlewareHandler } from 'hono'
import QRCode from 'qrcode'
import { createGroupCommit } from '../sqlite/group-commit.ts'
import { CacheUnavailableError } from '../link-cache/link-cache.ts'
import type { LinkCache } from '../link-cache/link-cache.ts'
import { CSV_COLUMNS, CsvFormatError, linksToCsv, parseLinkCsv } from '../links/link-csv.ts'
import type { CsvRecord } from '../links/link-csv.ts'
import type { CreateRequest, LinkSchemas } from './link-schemas.ts'
import { AliasTakenError, CodeSpaceExhaustedError, isLive } from '../links/link-store.ts'
import type { Link, LinkStore, RedirectEntry } from '../links/link-store.ts'
import {
  BulkSummarySchema,
  CodeParamSchema,
  ImportSummarySchema,
  LinkPageSchema,
  LinkViewSchema,
  toLinkView,
} from './link-view.ts'
import type { RowResult } from './link-view.ts'
import { BodyTooLargeError, spoolBody } from './spooled-body.ts'

export type LinkRoutesDeps = {
  links: LinkStore
  cache: Pick<LinkCache<RedirectEntry>, 'change'>
  schemas: LinkSchemas
  publicBaseUrl: string
  /** Largest CSV import accepted, in bytes; larger bodies get 413. */
  importMaxBytes: number
  /** Refuses requests without a valid API key (management routes). */
  requireApiKey: MiddlewareHandler
  /** Runs before an anonymous-capable create: identification, anonymous policy, rate limit. */
  createGuard: MiddlewareHandler
  /**
   * Who is creating (after `createGuard`): the identity a `reuse` create matches links
   * against, so a caller only ever gets its own links back.
   */
  callerIdentity: (c: Context) => string
  /** Called after a link is deleted (e.g. to drop its analytics). */
  onDelete?: (link: Link) => void
  now?: () => number
}

/** Rows of an import written per transaction; the event loop runs between two. */
const IMPORT_BATCH = 500
/** Problem rows an import answer lists; the rest are counted in `problemsOmitted`. */
const MAX_IMPORT_PROBLEMS = 1000

const aliasTakenErrors = [{ path: 'alias', message: 'is already taken' }]

function aliasTakenError(alias: string): Problem {
  return problemBody(409, 'alias_taken', `The alias "${alias}" is already taken`, {
    errors: aliasTakenErrors,
  })
}

function aliasTaken(alias: string): HttpError {
  return new HttpError(409, 'alias_taken', `The alias "${alias}" is already taken`, {
    errors: aliasTakenErrors,
  })
}

/** The API key, sent as X-API-Key or as a Bearer token (securitySchemes in app.ts). */
const keyed: { security: Record<string, string[]>[] } = {
  security: [{ apiKey: [] }, { bearer: [] }],
}

/**
 * The management API, mounted at `/api/links`, each route declared with its zod schemas
 * (`createRoute`): they validate the request and describe it in /openapi.json. Create is open
 * to anonymous clients (rate limited) unless ANONYMOUS_CREATE=false; everything else needs the
 * API key, except the QR codes, which only encode the public short URL.
 */
export function createLinkRoutes({
  links,
  cache,
  schemas,
  publicBaseUrl,
  importMaxBytes,
  requireApiKey,
  createGuard,
  callerIdentity,
  onDelete,
  now = Date.now,
}: LinkRoutesDeps) {
  const app = createOpenApiApp()
  const view = (link: Link) => toLinkView(link, publicBaseUrl)
  // Creates arriving together are committed together (see group-commit.ts).
  const commits = createGroupCommit({ transaction: (fn) => links.transaction(fn) })

  /** Creates rows one by one in one transaction; a bad row never stops the others. */
  function createRows(bodies: unknown[], dryRun: boolean, reuseKey: string): RowResult[] {
    const claimed = new Set<string>()
    return links.transaction(() =>
      bodies.map((body, index): RowResult => {
        const parsed = schemas.createLink.safeParse(body)
        if (!parsed.success) {
          const error = problemBody(400, 'validation_failed', 'Invalid link', {
            errors: toFieldErrors(parsed.error),
          })
          return { index, status: 'invalid', error }
        }
        const { link: input, reuse } = parsed.data
        const alias = input.alias
        if (alias !== undefined && (claimed.has(alias) || (dryRun && links.exists(alias)))) {
          return { index, status: 'conflict', error: aliasTakenError(alias) }
        }
        if (alias !== undefined) claimed.add(alias)
        if (dryRun) return { index, status: 'created' }
        try {
          return {
            index,
            status: 'created',
            link: view(links.create({ ...input, reuseKey }, { reuse }).link),
          }
        } catch (error) {
          if (error instanceof AliasTakenError) {
            return { index, status: 'conflict', error: aliasTakenError(error.alias) }
          }
          throw error
        }
      })
    )
  }

  function summary(results: RowResult[], dryRun: boolean) {
    const count = (status: RowResult['status']) =>
      results.filter((row) => row.status === status).length
    return {
      dryRun,
      created: count('created'),
      invalid: count('invalid'),
      conflict: count('conflict'),
      results,
    }
  }

  function create({ link, reuse }: CreateRequest, reuseKey: string) {
    try {
      return links.create({ ...link, reuseKey }, { reuse })
    } catch (error) {
      if (error instanceof AliasTakenError) throw aliasTaken(error.alias)
      if (error instanceof CodeSpaceExhaustedError) {
        throw new HttpError(503, 'code_space_exhausted', 'No free code found; retry', {
          headers: { 'Retry-After': '1' },
        })
      }
      throw error
    }
  }

  function existingLink(code: string): Link {
    const link = links.get(code)
    if (!link) throw new HttpError(404, 'not_found', 'No link with this code')
    return link
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      summary: 'Create a short link',
      description:
        "Anonymous (rate limited, unless ANONYMOUS_CREATE=false) or with the API key. `reuse` returns one of the caller's own plain links for the same target instead of a new one (200).",
      middleware: [createGuard],
      request: { query: schemas.noQuery, body: jsonBody(schemas.createLink) },
      responses: {
        201: {
          ...jsonResponse(LinkViewSchema, 'The new link'),
          headers: z.object({ Location: z.string().openapi({ example: '/api/links/launch' }) }),
        },
        200: jsonResponse(LinkViewSchema, "One of the caller's own links, found by reuse"),
        ...problemResponses(400, 401, 409, 413, 415, 429, 503),
      },
    }),
    async (c) => {
      const request = c.req.valid('json')
      const reuseKey = callerIdentity(c)
      const { link, created } = await commits.submit(() => create(request, reuseKey))
      if (!created) return c.json(view(link), 200)
      c.header('Location', `/api/links/${link.code}`)
      return c.json(view(link), 201)
    }
  )

  app.openapi(
    createRoute({
      method: 'post',
      path: '/bulk',
      summary: 'Create up to 100 links, each row on its own',
      middleware: [requireApiKey],
      ...keyed,
      request: { query: schemas.noQuery, body: jsonBody(schemas.bulkCreate) },
      responses: {
        200: jsonResponse(BulkSummarySchema, 'What happened to each row'),
        ...problemResponses(400, 401, 413, 415),
      },
    }),
    (c) => {
      const { links: rows, dryRun = false } = c.req.valid('json')
      return c.json(summary(createRows(rows, dryRun, callerIdentity(c)), dryRun), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      summary: 'List links, newest first',
      middleware: [requireApiKey],
      ...keyed,
      request: { query: schemas.listQuery },
      responses: {
        200: jsonResponse(LinkPageSchema, 'A page of links'),
        ...problemResponses(400, 401),
      },
    }),
    (c) => {
      const { limit, cursor } = c.req.valid('query')
      const page = links.list({ limit: limit + 1, before: cursor })
      const more = page.length > limit
      const shown = more ? page.slice(0, limit) : page
      return c.json(
        {
          links: shown.map(view),
          nextCursor: more ? String((shown.at(-1) as Link).id) : null,
        },
        200
      )
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/export.csv',
      summary: 'Every link that is not deleted, as CSV (a backup of the links)',
      middleware: [requireApiKey],
      ...keyed,
      request: { query: schemas.noQuery },
      responses: {
        200: {
          description: `Columns: ${CSV_COLUMNS.join(',')}`,
          content: { 'text/csv': { schema: z.string() } },
        },
        ...problemResponses(400, 401),
      },
    }),
    (c) => {
      const csv = Readable.toWeb(linksToCsv(links.all())) as ReadableStream
      return c.body(csv, 200, {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': 'attachment; filename="links.csv"',
      })
    }
  )

  /**
   * Restores CSV rows in transactions of IMPORT_BATCH, yielding between them, so a 100,000-row
   * import never holds the write lock or the event loop for long. Not all-or-nothing: a failed
   * import leaves the batches before it, and running the same file again reports their codes as
   * conflicts.
   */
  async function importRows(records: AsyncIterable<CsvRecord>, dryRun: boolean) {
    const tally = { rows: 0, created: 0, invalid: 0, conflict: 0 }
    const problems: RowResult[] = []
    const claimed = new Set<string>()
    let batch: CsvRecord[] = []
    const report = (row: RowResult) => {
      tally[row.status]++
      if (row.status !== 'created' && problems.length < MAX_IMPORT_PROBLEMS) problems.push(row)
    }
    const restore = (record: CsvRecord, index: number): RowResult => {
      const parsed = schemas.importRow.safeParse(record)
      if (!parsed.success) {
        const error = problemBody(400, 'validation_failed', 'Invalid row', {
          errors: toFieldErrors(parsed.error),
        })
        return { index, status: 'invalid', error }
      }
      const alias = parsed.data.alias
      if (dryRun) {
        if (alias !== undefined && (claimed.has(alias) || links.exists(alias))) {
          return { index, status: 'conflict', error: aliasTakenError(alias) }
        }
        if (alias !== undefined) claimed.add(alias)
        return { index, status: 'created' }
      }
      try {
        links.restore(parsed.data)
        return { index, status: 'created' }
      } catch (error) {
        if (error instanceof AliasTakenError) {
          return { index, status: 'conflict', error: aliasTakenError(error.alias) }
        }
        throw error
      }
    }
    const writeBatch = () => {
      const first = tally.rows - batch.length
      const rows = batch
      batch = []
      links.transaction(() => rows.forEach((record, i) => report(restore(record, first + i))))
    }
    for await (const record of records) {
      batch.push(record)
      tally.rows++
      if (batch.length === IMPORT_BATCH) {
        writeBatch()
        await nextTurn()
      }
    }
    writeBatch()
    if (tally.rows === 0) throw new CsvFormatError('The CSV has no data rows')
    return {
      dryRun,
      ...tally,
      problems,
      problemsOmitted: tally.invalid + tally.conflict - problems.length,
    }
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/import',
      summary: 'Restore links from a CSV export',
      description:
        'Streamed under IMPORT_MAX_BYTES; invalid rows and taken codes are reported and skipped.',
      middleware: [requireApiKey],
      ...keyed,
      request: {
        query: schemas.importQuery,
        body: {
          required: true,
          content: {
            'text/csv': { schema: z.string().openapi({ description: CSV_COLUMNS.join(',') }) },
          },
        },
      },
      responses: {
        200: jsonResponse(ImportSummarySchema, 'Counts, and the rows not created'),
        ...problemResponses(400, 401, 413, 415),
      },
    }),
    async (c) => {
      const type = c.req.header('content-type') ?? ''
      if (!/^text\/csv\b/i.test(type)) {
        throw new HttpError(
          415,
          'unsupported_media_type',
          'Send the CSV with Content-Type: text/csv'
        )
      }
      const tooLarge = () =>
        new HttpError(413, 'payload_too_large', `An import is at most ${importMaxBytes} bytes`)
      const declared = Number(c.req.header('content-length') ?? 0)
      if (declared > importMaxBytes) throw tooLarge()
      const body = c.req.raw.body
      if (!body) throw new HttpError(400, 'malformed_csv', 'The CSV has no data rows')
      const spooled = await spoolBody(body, importMaxBytes).catch((error: unknown) => {
        throw error instanceof BodyTooLargeError ? tooLarge() : error
      })
      try {
        const { dryRun } = c.req.valid('query')
        // A first pass checks the whole file is well-formed CSV, so a broken line near the end
        // refuses the import before any row of it is written.
        for await (const record of parseLinkCsv(createReadStream(spooled.path))) void record
        return c.json(await importRows(parseLinkCsv(createReadStream(spooled.path)), dryRun), 200)
      } catch (error) {
        if (error instanceof CsvFormatError) {
          throw new HttpError(400, 'malformed_csv', error.message)
        }
        throw error
      } finally {
        await spooled.cleanup()
      }
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{code}',
      summary: 'One link, expired and used-up ones included',
      middleware: [requireApiKey],
      ...keyed,
      request: { params: CodeParamSchema, query: schemas.noQuery },
      responses: {
        200: jsonResponse(LinkViewSchema, 'The link'),
        ...problemResponses(400, 401, 404),
      },
    }),
    (c) => c.json(view(existingLink(c.req.valid('param').code)), 200)
  )

  /**
   * Edits or deletes a link through the cache, so that the answer is sent only once no cache can
   * serve the old target. While the cache cannot guarantee it, nothing is changed: 503.
   */
  async function changeLink(code: string, apply: () => Link | undefined): Promise<Link> {
    existingLink(code)
    let link: Link | undefined
    try {
      link = await cache.change(code, apply, (changed) => changed.updatedAt)
    } catch (error) {
      if (!(error instanceof CacheUnavailableError)) throw error
      throw new HttpError(
        503,
        'cache_unavailable',
        'The link cache cannot be invalidated right now; nothing was changed, retry',
        { headers: { 'Retry-After': '1' } }
      )
    }
    if (!link) throw new HttpError(404, 'not_found', 'No link with this code')
    return link
  }

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/{code}',
      summary: 'Edit a link',
      description:
        'Answered only once no cache can serve the old target; 503 (nothing changed) while that cannot be guaranteed.',
      middleware: [requireApiKey],
      ...keyed,
      request: {
        params: CodeParamSchema,
        query: schemas.noQuery,
        body: jsonBody(schemas.updateLink),
      },
      responses: {
        200: jsonResponse(LinkViewSchema, 'The link as edited'),
        ...problemResponses(400, 401, 404, 413, 415, 503),
      },
    }),
    async (c) => {
      const { code } = c.req.valid('param')
      const changes = c.req.valid('json')
      const link = await changeLink(code, () => links.update(code, changes))
      return c.json(view(link), 200)
    }
  )

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/{code}',
      summary: 'Delete a link; its code stays taken',
      middleware: [requireApiKey],
      ...keyed,
      request: { params: CodeParamSchema, query: schemas.noQuery },
      responses: {
        204: { description: 'Deleted' },
        ...problemResponses(400, 401, 404, 503),
      },
    }),
    async (c) => {
      const { code } = c.req.valid('param')
      const link = await changeLink(code, () => links.remove(code))
      onDelete?.(link)
      return c.body(null, 204)
    }
  )

  /** A live link's QR code, of its public short URL. */
  function liveLink(code: string): Link {
    const link = existingLink(code)
    if (!isLive(link, now())) throw new HttpError(404, 'not_found', 'No link with this code')
    return link
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{code}/qr.svg',
      summary: "QR code of a live link's short URL, SVG",
      request: { params: CodeParamSchema, query: schemas.noQuery },
      responses: {
        200: { description: 'The QR code', content: { 'image/svg+xml': { schema: z.string() } } },
        ...problemResponses(400, 404),
      },
    }),
    async (c) => {
      const link = liveLink(c.req.valid('param').code)
      const svg = await QRCode.toString(`${publicBaseUrl}/${link.code}`, { type: 'svg', margin: 2 })
      return c.body(svg, 200, {
        'Content-Type': 'image/svg+xml',
        'Cache-Control': 'public, max-age=3600',
      })
    }
  )

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{code}/qr.png',
      summary: "QR code of a live link's short URL, PNG (256 px)",
      request: { params: CodeParamSchema, query: schemas.noQuery },
      responses: {
        200: {
          description: 'The QR code',
          content: { 'image/png': { schema: z.string().openapi({ format: 'binary' }) } },
        },
        ...problemResponses(400, 404),
      },
    }),
    async (c) => {
      const link = liveLink(c.req.valid('param').code)
      const png = await QRCode.toBuffer(`${publicBaseUrl}/${link.code}`, {
        type: 'png',
        width: 256,
        margin: 2,
      })
      return c.body(new Uint8Array(png), 200, {
        'Content-Type': 'image/png',
        'Cache-Control': 'public, max-age=3600',
      })
    }
  )

  return app
}
