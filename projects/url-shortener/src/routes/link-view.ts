import { z } from '@hono/zod-openapi'
import { ProblemSchema } from '@kit/http'
import { REDIRECT_STATUSES } from '../links/link-store.ts'
import type { Link } from '../links/link-store.ts'

/** A link as the API shows it: ISO 8601 times, the full short URL. */
export const LinkViewSchema = z
  .object({
    code: z.string().openapi({ example: 'launch' }),
    shortUrl: z.string().openapi({ example: 'https://sho.rt/launch' }),
    target: z.string().openapi({ example: 'https://example.com/launch' }),
    redirectType: z
      .union(REDIRECT_STATUSES.map((status) => z.literal(status)))
      .nullable()
      .openapi({ description: 'null: the service default (REDIRECT_STATUS) applies' }),
    expiresAt: z.string().nullable(),
    maxVisits: z.number().int().nullable(),
    visits: z.number().int().openapi({ description: 'Counted only for links with maxVisits' }),
    forwardQuery: z
      .boolean()
      .openapi({ description: "The short URL's query string is appended to the target's" }),
    forwardPath: z
      .boolean()
      .openapi({ description: "The path below the code is appended to the target's path" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Link')

export type LinkView = z.infer<typeof LinkViewSchema>

export function toLinkView(link: Link, publicBaseUrl: string): LinkView {
  return {
    code: link.code,
    shortUrl: `${publicBaseUrl}/${link.code}`,
    target: link.target,
    redirectType: link.redirectStatus,
    expiresAt: link.expiresAt === null ? null : new Date(link.expiresAt).toISOString(),
    maxVisits: link.maxVisits,
    visits: link.visits,
    forwardQuery: link.forwardQuery,
    forwardPath: link.forwardPath,
    createdAt: new Date(link.createdAt).toISOString(),
    updatedAt: new Date(link.updatedAt).toISOString(),
  }
}

/** A page of links, newest first. */
export const LinkPageSchema = z
  .object({
    links: z.array(LinkViewSchema),
    nextCursor: z.string().nullable().openapi({ description: 'The next page, or null' }),
  })
  .openapi('LinkPage')

/** One row's outcome in a bulk create or an import. */
export const RowResultSchema = z
  .object({
    index: z.number().int().openapi({ description: 'Position of the row, from 0' }),
    status: z.enum(['created', 'invalid', 'conflict']),
    link: LinkViewSchema.optional(),
    error: ProblemSchema.optional(),
  })
  .openapi('RowResult')

export type RowResult = z.infer<typeof RowResultSchema>

export const BulkSummarySchema = z
  .object({
    dryRun: z.boolean(),
    created: z.number().int(),
    invalid: z.number().int(),
    conflict: z.number().int(),
    results: z.array(RowResultSchema),
  })
  .openapi('BulkSummary')

export const ImportSummarySchema = z
  .object({
    dryRun: z.boolean(),
    rows: z.number().int(),
    created: z.number().int(),
    invalid: z.number().int(),
    conflict: z.number().int(),
    problems: z
      .array(RowResultSchema)
      .openapi({ description: 'The rows not created, at most 1,000' }),
    problemsOmitted: z.number().int(),
  })
  .openapi('ImportSummary')

/** The `:code` of every route below a link. */
export const CodeParamSchema = z.object({
  code: z.string().openapi({ param: { name: 'code', in: 'path' }, example: 'launch' }),
})
