import { z } from 'zod'
import { aliasProblem } from '../links/alias.ts'
import { REDIRECT_STATUSES } from '../links/link-store.ts'
import type { LinkChanges, NewLink, RestoredLink } from '../links/link-store.ts'
import { checkTarget } from '../target-url/target-url.ts'
import type { TargetPolicy } from '../target-url/target-url.ts'

/** Expiry is capped at ten years: far enough for any campaign, near enough to stay a number. */
const MAX_EXPIRY_SECONDS = 10 * 365 * 24 * 3600
export const MAX_BULK_LINKS = 100

export type CreateRequest = { link: NewLink; reuse: boolean }

export type LinkSchemaOptions = {
  policy: TargetPolicy
  /** Read at parse time: expiries are relative to the request. */
  now?: () => number
}

/**
 * The request bodies of the link API, as zod schemas. Objects are strict: an unknown field is a
 * 400 naming it (a typo such as `expiresIn` must not silently create a link that never expires).
 * Every failure names its field (`url`, `alias`, `expiresAt`, ...).
 *
 * @example
 * ```ts
 * const schemas = createLinkSchemas({ policy: { ownHosts: ['sho.rt'], denyHosts: [] } })
 * schemas.createLink.parse({ url: 'https://example.com', expiresInSeconds: 3600 })
 * ```
 */
export function createLinkSchemas({ policy, now = Date.now }: LinkSchemaOptions) {
  const url = z.string().transform((raw, ctx) => {
    const check = checkTarget(raw, policy)
    if (check.ok) return check.url
    ctx.addIssue({ code: 'custom', message: check.message })
    return z.NEVER
  })
  const alias = z.string().superRefine((value, ctx) => {
    const problem = aliasProblem(value)
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  })
  const redirectType = z.union(
    REDIRECT_STATUSES.map((status) => z.literal(status)),
    {
      error: 'must be one of 301, 302, 307, 308',
    }
  )
  const expiresAt = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' })
  const expiresInSeconds = z.number().int().min(1).max(MAX_EXPIRY_SECONDS)
  const maxVisits = z.number().int().min(1).max(1_000_000_000)

  /** Absolute expiry in ms from either form, or an issue when it is not in the future. */
  function resolveExpiry(
    body: { expiresAt?: string | null; expiresInSeconds?: number },
    ctx: z.RefinementCtx
  ): number | null | undefined {
    if (body.expiresAt !== undefined && body.expiresInSeconds !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['expiresInSeconds'],
        message: 'cannot be combined with expiresAt',
      })
      return undefined
    }
    const at = now()
    if (body.expiresInSeconds !== undefined) return at + body.expiresInSeconds * 1000
    if (body.expiresAt === undefined || body.expiresAt === null) return body.expiresAt
    const ms = Date.parse(body.expiresAt)
    if (ms <= at) {
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'must be in the future' })
    } else if (ms > at + MAX_EXPIRY_SECONDS * 1000) {
      // The same bound as expiresInSeconds: one rule, whichever form the client picks.
      ctx.addIssue({
        code: 'custom',
        path: ['expiresAt'],
        message: 'must be at most 10 years ahead',
      })
    }
    return ms
  }

  const createLink = z
    .strictObject({
      url,
      alias: alias.optional(),
      expiresAt: expiresAt.optional(),
      expiresInSeconds: expiresInSeconds.optional(),
      maxVisits: maxVisits.optional(),
      redirectType: redirectType.optional(),
      forwardQuery: z.boolean().optional(),
      forwardPath: z.boolean().optional(),
      reuse: z.boolean().optional(),
    })
    .transform((body, ctx): CreateRequest => {
      const expiry = resolveExpiry(body, ctx)
      const reuse = body.reuse ?? false
      if (reuse && (body.alias !== undefined || expiry != null || body.maxVisits !== undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['reuse'],
          message: 'applies to plain links only: not with alias, expiry or maxVisits',
        })
      }
      return {
        link: {
          target: body.url,
          alias: body.alias,
          redirectStatus: body.redirectType ?? null,
          expiresAt: expiry ?? null,
          maxVisits: body.maxVisits ?? null,
          forwardQuery: body.forwardQuery,
          forwardPath: body.forwardPath,
        },
        reuse,
      }
    })

  const updateLink = z
    .strictObject({
      url: url.optional(),
      expiresAt: expiresAt.nullable().optional(),
      expiresInSeconds: expiresInSeconds.optional(),
      redirectType: redirectType.nullable().optional(),
      forwardQuery: z.boolean().optional(),
      forwardPath: z.boolean().optional(),
    })
    .transform((body, ctx): LinkChanges => {
      const changes: LinkChanges = {
        target: body.url,
        expiresAt: resolveExpiry(body, ctx),
        redirectStatus: body.redirectType,
        forwardQuery: body.forwardQuery,
        forwardPath: body.forwardPath,
      }
      if (Object.values(changes).every((value) => value === undefined)) {
        ctx.addIssue({
          code: 'custom',
          message:
            'nothing to change: give url, expiresAt, expiresInSeconds, redirectType, forwardQuery or forwardPath',
        })
      }
      return changes
    })

  const bulkCreate = z.strictObject({
    links: z.array(z.unknown()).min(1).max(MAX_BULK_LINKS),
    dryRun: z.boolean().optional(),
  })

  const listQuery = z.strictObject({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z
      .string()
      .regex(/^[1-9][0-9]{0,15}$/, 'is not a cursor from a previous page')
      .transform(Number)
      .optional(),
  })

  const count = (min: number) =>
    z
      .string()
      .regex(/^\d{1,10}$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().min(min))
  const instant = z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time' })
    .transform((value) => Date.parse(value))

  const flag = z.enum(['true', 'false']).transform((value) => value === 'true')

  const importColumns = z
    .strictObject({
      code: alias.optional(),
      url,
      redirect_type: z.string().transform(Number).pipe(redirectType).optional(),
      expires_at: instant.optional(),
      max_visits: count(1).pipe(maxVisits).optional(),
      visits: count(0).optional(),
      created_at: instant.optional(),
      forward_query: flag.optional(),
      forward_path: flag.optional(),
    })
    .transform((row, ctx): RestoredLink => {
      if (row.visits !== undefined && row.visits > (row.max_visits ?? 0)) {
        ctx.addIssue({
          code: 'custom',
          path: ['visits'],
          message: 'is counted only for links with max_visits, and at most max_visits',
        })
      }
      return {
        target: row.url,
        alias: row.code,
        redirectStatus: row.redirect_type ?? null,
        expiresAt: row.expires_at ?? null,
        maxVisits: row.max_visits ?? null,
        visits: row.visits,
        createdAt: row.created_at,
        forwardQuery: row.forward_query,
        forwardPath: row.forward_path,
      }
    })
  /**
   * One row of an import (the columns of `CSV_COLUMNS`, as strings; an empty cell is absent).
   * A restore, not a create: past expiries, creation times and visit counts come back as they
   * were exported.
   */
  const importRow = {
    safeParse(record: Record<string, string | undefined>) {
      const present: Record<string, string> = {}
      for (const key in record) if (record[key]) present[key] = record[key]
      return importColumns.safeParse(present)
    },
  }

  const importQuery = z.strictObject({
    dryRun: z
      .enum(['true', 'false'])
      .optional()
      .transform((value) => value === 'true'),
  })

  /** Routes that take no query parameter: any one is a 400 naming it, like unknown fields. */
  const noQuery = z.strictObject({})

  return { createLink, updateLink, bulkCreate, listQuery, importRow, importQuery, noQuery }
}

export type LinkSchemas = ReturnType<typeof createLinkSchemas>
