import { text } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import { CsvFormatError, csvToLinkBodies, linksToCsv } from './link-csv.ts'
import type { Link } from './link-store.ts'

const link = (overrides: Partial<Link>): Link => ({
  id: 1,
  code: 'abc1234',
  target: 'https://example.com/',
  redirectStatus: null,
  createdAt: 0,
  updatedAt: 0,
  expiresAt: null,
  maxVisits: null,
  visits: 0,
  ...overrides,
})

describe('linksToCsv / csvToLinkBodies', () => {
  it('when links are exported then parsed, gives back create bodies with the same fields', async () => {
    const links = [
      link({}),
      link({
        code: 'promo_2026',
        target: 'https://example.com/a,b?q="quoted"',
        redirectStatus: 308,
        expiresAt: Date.parse('2030-01-02T03:04:05.000Z'),
        maxVisits: 10,
      }),
    ]

    const csv = await text(linksToCsv(links))
    const bodies = csvToLinkBodies(csv)

    expect(csv.split('\n')[0]).toBe('code,url,redirect_type,expires_at,max_visits')
    expect(bodies).toEqual([
      { url: 'https://example.com/', alias: 'abc1234' },
      {
        url: 'https://example.com/a,b?q="quoted"',
        alias: 'promo_2026',
        redirectType: 308,
        expiresAt: '2030-01-02T03:04:05.000Z',
        maxVisits: 10,
      },
    ])
  })

  it('when only a url column is given, leaves the rest out', () => {
    expect(csvToLinkBodies('url\nhttps://a.example/\nhttps://b.example/\n')).toEqual([
      { url: 'https://a.example/' },
      { url: 'https://b.example/' },
    ])
  })

  it.each([
    ['no url column', 'code,target\nabc,https://a.example/'],
    ['no data rows', 'url\n'],
    ['an unclosed quote', 'url\n"https://a.example/'],
  ])('when the CSV has %s, throws CsvFormatError', (_, csv) => {
    expect(() => csvToLinkBodies(csv)).toThrow(CsvFormatError)
  })
})
