import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import { CsvFormatError, linksToCsv, parseLinkCsv } from './link-csv.ts'
import type { CsvRecord } from './link-csv.ts'
import type { Link } from './link-store.ts'

const link = (overrides: Partial<Link>): Link => ({
  id: 1,
  code: 'abc1234',
  target: 'https://example.com/',
  redirectStatus: null,
  createdAt: Date.parse('2026-01-01T00:00:00.000Z'),
  updatedAt: 0,
  expiresAt: null,
  maxVisits: null,
  visits: 0,
  forwardQuery: true,
  forwardPath: false,
  ...overrides,
})

async function records(csv: string): Promise<CsvRecord[]> {
  const rows: CsvRecord[] = []
  for await (const row of parseLinkCsv(Readable.from([csv]))) rows.push(row)
  return rows
}

describe('linksToCsv / parseLinkCsv', () => {
  it('when links are exported then parsed, gives back every column, visits and creation time included', async () => {
    const links = [
      link({}),
      link({
        code: 'promo_2026',
        target: 'https://example.com/a,b?q="quoted"',
        redirectStatus: 308,
        expiresAt: Date.parse('2020-01-02T03:04:05.000Z'),
        maxVisits: 10,
        visits: 10,
      }),
    ]

    const csv = await text(linksToCsv(links))

    expect(csv.split('\n')[0]).toBe(
      'code,url,redirect_type,expires_at,max_visits,visits,created_at,forward_query,forward_path'
    )
    expect(await records(csv)).toEqual([
      {
        code: 'abc1234',
        url: 'https://example.com/',
        redirect_type: '',
        expires_at: '',
        max_visits: '',
        visits: '0',
        created_at: '2026-01-01T00:00:00.000Z',
        forward_query: 'true',
        forward_path: 'false',
      },
      {
        code: 'promo_2026',
        url: 'https://example.com/a,b?q="quoted"',
        redirect_type: '308',
        expires_at: '2020-01-02T03:04:05.000Z',
        max_visits: '10',
        visits: '10',
        created_at: '2026-01-01T00:00:00.000Z',
        forward_query: 'true',
        forward_path: 'false',
      },
    ])
  })

  it('when only a url column is given, yields rows with only a url', async () => {
    expect(await records('url\nhttps://a.example/\nhttps://b.example/\n')).toEqual([
      { url: 'https://a.example/' },
      { url: 'https://b.example/' },
    ])
  })

  it.each([
    ['no url column', 'code\nabc'],
    ['an unknown column', 'url,target\nhttps://a.example/,x'],
    ['an unclosed quote', 'url\n"https://a.example/'],
    ['a row longer than the header', 'url\nhttps://a.example/,extra'],
  ])('when the CSV has %s, throws CsvFormatError', async (_, csv) => {
    await expect(records(csv)).rejects.toThrow(CsvFormatError)
  })
})
