import { Readable } from 'node:stream'
import { parse } from 'csv-parse/sync'
import { stringify } from 'csv-stringify'
import type { Link } from './link-store.ts'

/** The CSV of export and import: the same columns both ways, so an export imports as is. */
export const CSV_COLUMNS = ['code', 'url', 'redirect_type', 'expires_at', 'max_visits'] as const
export const MAX_IMPORT_ROWS = 1000

type CsvRecord = Record<(typeof CSV_COLUMNS)[number], string>

/** The CSV is not parseable, or lacks the `url` column. */
export class CsvFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}

function toRecord(link: Link): CsvRecord {
  return {
    code: link.code,
    url: link.target,
    redirect_type: link.redirectStatus === null ? '' : String(link.redirectStatus),
    expires_at: link.expiresAt === null ? '' : new Date(link.expiresAt).toISOString(),
    max_visits: link.maxVisits === null ? '' : String(link.maxVisits),
  }
}

/**
 * Streams links as CSV (RFC 4180, header row first) without holding them all in memory.
 *
 * @example
 * ```ts
 * return c.body(Readable.toWeb(linksToCsv(store.live())), 200, { 'Content-Type': 'text/csv' })
 * ```
 */
export function linksToCsv(links: Iterable<Link>): Readable {
  return Readable.from(
    (function* () {
      for (const link of links) yield toRecord(link)
    })()
  ).pipe(stringify({ header: true, columns: [...CSV_COLUMNS] }))
}

/**
 * Parses an import CSV into create-link bodies, one per data row: `code` becomes the alias and
 * empty cells are left out, so the create schema validates them like any API call.
 *
 * @throws {CsvFormatError} when the CSV cannot be parsed, has no `url` column or too many rows.
 */
export function csvToLinkBodies(text: string): Record<string, unknown>[] {
  let records: Record<string, string>[]
  try {
    records = parse(text, { columns: true, bom: true, skip_empty_lines: true, trim: true })
  } catch (error) {
    throw new CsvFormatError(`Malformed CSV: ${(error as Error).message}`)
  }
  if (records.length === 0) throw new CsvFormatError('The CSV has no data rows')
  if (!('url' in (records[0] as object))) {
    throw new CsvFormatError(
      `The header row needs a url column (columns: ${CSV_COLUMNS.join(',')})`
    )
  }
  if (records.length > MAX_IMPORT_ROWS) {
    throw new CsvFormatError(`At most ${MAX_IMPORT_ROWS} rows per import`)
  }
  return records.map((record) => {
    const body: Record<string, unknown> = { url: record.url ?? '' }
    if (record.code) body.alias = record.code
    if (record.redirect_type) body.redirectType = Number(record.redirect_type)
    if (record.expires_at) body.expiresAt = record.expires_at
    if (record.max_visits) body.maxVisits = Number(record.max_visits)
    return body
  })
}
