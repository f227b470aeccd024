import { Readable } from 'node:stream'
import { parse } from 'csv-parse'
import { stringify } from 'csv-stringify'
import type { Link } from './link-store.ts'

/**
 * The CSV of export and import: the same columns both ways, so an export imports as is and
 * restores every link it holds as it was, expired and used-up ones included. Left out: deleted
 * links (their codes stay taken only in the database they were deleted from) and the click
 * analytics (counters, not links; back up the SQLite file for those).
 */
export const CSV_COLUMNS = [
  'code',
  'url',
  'redirect_type',
  'expires_at',
  'max_visits',
  'visits',
  'created_at',
  'forward_query',
  'forward_path',
] as const

export type CsvColumn = (typeof CSV_COLUMNS)[number]
/** One data row, by column; a column the file does not have is absent, an empty cell is ''. */
export type CsvRecord = Partial<Record<CsvColumn, string>>

/** The CSV cannot be parsed, or its header is not made of the columns above with `url`. */
export class CsvFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = this.constructor.name
  }
}

function toRecord(link: Link): Record<CsvColumn, string> {
  return {
    code: link.code,
    url: link.target,
    redirect_type: link.redirectStatus === null ? '' : String(link.redirectStatus),
    expires_at: link.expiresAt === null ? '' : new Date(link.expiresAt).toISOString(),
    max_visits: link.maxVisits === null ? '' : String(link.maxVisits),
    visits: String(link.visits),
    created_at: new Date(link.createdAt).toISOString(),
    forward_query: String(link.forwardQuery),
    forward_path: String(link.forwardPath),
  }
}

/**
 * Streams links as CSV (RFC 4180, header row first) without holding them all in memory.
 *
 * @example
 * ```ts
 * return c.body(Readable.toWeb(linksToCsv(store.all())), 200, { 'Content-Type': 'text/csv' })
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
 * Parses a CSV stream row by row (csv-parse), checking the header first: only the columns
 * above, `url` among them. Memory stays bounded by one row, whatever the file's size.
 *
 * @throws {CsvFormatError} (from the iterator) when the CSV cannot be parsed or its header is
 * wrong; rows already yielded stay yielded.
 * @example
 * ```ts
 * for await (const record of parseLinkCsv(createReadStream('links.csv'))) console.log(record.url)
 * ```
 */
export async function* parseLinkCsv(input: Readable): AsyncGenerator<CsvRecord> {
  const known = new Set<string>(CSV_COLUMNS)
  const parser = input.pipe(
    parse({
      bom: true,
      skip_empty_lines: true,
      trim: true,
      columns: (header: string[]) => {
        const unknown = header.filter((column) => !known.has(column))
        if (unknown.length > 0) {
          throw new CsvFormatError(
            `Unknown column(s) ${unknown.join(', ')}; the columns are ${CSV_COLUMNS.join(',')}`
          )
        }
        if (!header.includes('url')) {
          throw new CsvFormatError(`The header row needs a url column (${CSV_COLUMNS.join(',')})`)
        }
        return header
      },
    })
  )
  // A read error of the input (a body over its limit) must end the parse with that error.
  input.once('error', (error) => parser.destroy(error))
  try {
    for await (const record of parser) yield record as CsvRecord
  } catch (error) {
    if (error instanceof CsvFormatError) throw error
    const cause = (error as { cause?: unknown }).cause
    if (cause instanceof CsvFormatError) throw cause
    if ((error as { code?: unknown }).code?.toString().startsWith('CSV_')) {
      throw new CsvFormatError(`Malformed CSV: ${(error as Error).message}`)
    }
    throw error
  }
}
