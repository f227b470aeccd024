import { hash } from 'node:crypto'
import { and, desc, eq, gt, isNull, lt, or, sql } from 'drizzle-orm'
import type { RunResult } from 'better-sqlite3'
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core'
import { isReserved } from './alias.ts'
import { links } from './links.schema.ts'
import type { LinkRow } from './links.schema.ts'

/**
 * Any synchronous drizzle SQLite database (better-sqlite3) whose file has the `links` table.
 * The schema parameter is `any` so a db opened with a larger schema is accepted.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any schema that has links
export type LinksDb = BaseSQLiteDatabase<'sync', RunResult, any>

/** Where generated codes come from (a code strategy: random, snowflake, ...). */
export type CodeSource = { next(): string }

export const REDIRECT_STATUSES = [301, 302, 307, 308] as const
export type RedirectStatus = (typeof REDIRECT_STATUSES)[number]

export type Link = {
  id: number
  code: string
  target: string
  /** null: the service default applies. */
  redirectStatus: RedirectStatus | null
  createdAt: number
  updatedAt: number
  expiresAt: number | null
  maxVisits: number | null
  visits: number
  /** The short URL's query string is appended to the target. */
  forwardQuery: boolean
  /** The path below the code (`/code/more/path`) is appended to the target's path. */
  forwardPath: boolean
}

/** What a redirect needs, and what the cache holds. `version` strictly increases on every change. */
export type RedirectEntry = Pick<
  Link,
  'id' | 'target' | 'redirectStatus' | 'expiresAt' | 'maxVisits' | 'forwardQuery' | 'forwardPath'
> & {
  version: number
}

export type NewLink = {
  target: string
  /** A custom code; without it the code strategy picks one. */
  alias?: string
  redirectStatus?: RedirectStatus | null
  expiresAt?: number | null
  maxVisits?: number | null
  /** Default true. */
  forwardQuery?: boolean
  /** Default false. */
  forwardPath?: boolean
  /**
   * The creator's identity, kept on plain links (no alias, expiry or visit limit) so that a
   * `reuse` create by the same caller finds them, and by no one else.
   */
  reuseKey?: string
}

/** A link as a backup holds it: any expiry (past ones too), its visits and creation time. */
export type RestoredLink = NewLink & {
  /** Epoch ms; default now. */
  createdAt?: number
  /** Visits already counted (links with maxVisits); default 0. */
  visits?: number
}

export type LinkChanges = {
  target?: string
  redirectStatus?: RedirectStatus | null
  expiresAt?: number | null
  forwardQuery?: boolean
  forwardPath?: boolean
}

/** The requested alias already belongs to a link (live or deleted). */
export class AliasTakenError extends Error {
  constructor(readonly alias: string) {
    super(`The alias "${alias}" is already taken`)
    this.name = this.constructor.name
  }
}

/** The code strategy kept producing codes that exist: the code space is too crowded. */
export class CodeSpaceExhaustedError extends Error {
  constructor(readonly attempts: number) {
    super(`No free code after ${attempts} attempts`)
    this.name = this.constructor.name
  }
}

export type LinkStore = {
  /**
   * Inserts a link. The UNIQUE index on `code` settles races: a taken alias throws
   * AliasTakenError, a generated code that collides is drawn again. With `reuse` and a
   * `reuseKey`, returns the newest plain link the same caller made (same target and redirect
   * type, generated code, no expiry, no visit limit) instead of inserting, in one IMMEDIATE
   * transaction so concurrent creates of one URL make one link. Another caller's links are
   * never returned: reuse must not tell anyone what others shortened.
   */
  create(input: NewLink, options?: { reuse?: boolean }): { link: Link; created: boolean }
  /**
   * Inserts a link from a backup (CSV import): as `create`, but keeps the given creation time,
   * visits and expiry, even a past one (an expired link comes back expired).
   */
  restore(input: RestoredLink): Link
  /** A link that is not deleted (it may have expired). */
  get(code: string): Link | undefined
  getById(id: number): Link | undefined
  /** The cache loader: what a redirect needs, for links that are not deleted. */
  redirectEntry(code: string): RedirectEntry | undefined
  /** Links that are not deleted, newest first, with ids below `before`. */
  list(options: { limit: number; before?: number }): Link[]
  update(code: string, changes: LinkChanges): Link | undefined
  /** Soft-deletes; returns the row as deleted (its `updatedAt` is the new cache version). */
  remove(code: string): Link | undefined
  /**
   * Counts one visit of a link with a visit limit, in one conditional UPDATE
   * (`visits < max_visits`): true when the visit is allowed. SQLite runs writes one at a time,
   * so the N+1-th visit is refused exactly, across processes too.
   */
  countVisit(id: number): boolean
  /** True when the code was ever used, deleted links included: a code is never reassigned. */
  exists(code: string): boolean
  /** Live links (not deleted, not expired, visits left), oldest first. */
  live(): IterableIterator<Link>
  /** Every link that is not deleted (expired and used-up ones too), oldest first. */
  all(): IterableIterator<Link>
  /** Runs `fn` in one IMMEDIATE transaction (bulk and import write many rows at once). */
  transaction<T>(fn: () => T): T
  /** Generated codes drawn again because they collided (benchmark and metrics). */
  readonly collisionRetries: number
}

export type LinkStoreOptions = {
  db: LinksDb
  codes: CodeSource
  now?: () => number
  /** Attempts to find a free generated code before giving up. */
  maxAttempts?: number
}

/** SHA-256 of the target, base64url: the indexed key of idempotent create. */
export function urlHash(target: string): string {
  // The one-shot crypto.hash (Node >= 20.12) skips the Hash object createHash() builds.
  return hash('sha256', target, 'base64url')
}

/** Live: not expired at `now`, and visits left if the link has a limit. */
export function isLive(
  link: Pick<Link, 'expiresAt'> & Partial<Pick<Link, 'maxVisits' | 'visits'>>,
  now: number
): boolean {
  if (link.expiresAt !== null && link.expiresAt <= now) return false
  return link.maxVisits == null || link.visits === undefined || link.visits < link.maxVisits
}

/** Plain: no expiry and no visit limit (the links a reuse create may hand back). */
function isPlain(input: NewLink): boolean {
  return input.expiresAt == null && input.maxVisits == null
}

/** The cache entry of a link. */
export function redirectEntryOf(link: Link): RedirectEntry {
  const { id, target, redirectStatus, expiresAt, maxVisits, forwardQuery, forwardPath } = link
  return {
    id,
    target,
    redirectStatus,
    expiresAt,
    maxVisits,
    forwardQuery,
    forwardPath,
    version: link.updatedAt,
  }
}

function isUniqueViolation(error: unknown): boolean {
  // drizzle wraps driver errors in DrizzleQueryError; the SqliteError is its cause.
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') return true
  }
  return false
}

function toLink(row: LinkRow): Link {
  return {
    id: row.id,
    code: row.code,
    target: row.target,
    redirectStatus: row.redirectStatus as RedirectStatus | null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    expiresAt: row.expiresAt,
    maxVisits: row.maxVisits,
    visits: row.visits,
    forwardQuery: row.forwardQuery,
    forwardPath: row.forwardPath,
  }
}

/**
 * The SQLite link store (drizzle over better-sqlite3). Every call is synchronous: one process
 * owns one connection, and a query is microseconds, shorter than a round trip to anything else.
 * The statements on the hot paths (insert, redirect lookup, visit count) are prepared once.
 *
 * @example
 * ```ts
 * const store = createLinkStore({ db, codes: createCodeStrategy('random') })
 * const { link } = store.create({ target: 'https://example.com/' })
 * ```
 */
export function createLinkStore({
  db,
  codes,
  now = Date.now,
  maxAttempts = 5,
}: LinkStoreOptions): LinkStore {
  const notDeleted = isNull(links.deletedAt)
  const insert = db
    .insert(links)
    .values({
      code: sql.placeholder('code'),
      target: sql.placeholder('target'),
      urlHash: sql.placeholder('urlHash'),
      redirectStatus: sql.placeholder('redirectStatus'),
      createdAt: sql.placeholder('createdAt'),
      updatedAt: sql.placeholder('now'),
      expiresAt: sql.placeholder('expiresAt'),
      maxVisits: sql.placeholder('maxVisits'),
      visits: sql.placeholder('visits'),
      reuseKey: sql.placeholder('reuseKey'),
      forwardQuery: sql.placeholder('forwardQuery'),
      forwardPath: sql.placeholder('forwardPath'),
    })
    .prepare()
  const selectRedirect = db
    .select({
      id: links.id,
      target: links.target,
      redirectStatus: links.redirectStatus,
      expiresAt: links.expiresAt,
      maxVisits: links.maxVisits,
      forwardQuery: links.forwardQuery,
      forwardPath: links.forwardPath,
      version: links.updatedAt,
    })
    .from(links)
    .where(and(eq(links.code, sql.placeholder('code')), notDeleted))
    .prepare()
  const selectByCode = db
    .select()
    .from(links)
    .where(and(eq(links.code, sql.placeholder('code')), notDeleted))
    .prepare()
  const countVisit = db
    .update(links)
    .set({ visits: sql`${links.visits} + 1` })
    .where(
      and(
        eq(links.id, sql.placeholder('id')),
        notDeleted,
        sql`${links.visits} < ${links.maxVisits}`,
        or(isNull(links.expiresAt), gt(links.expiresAt, sql.placeholder('now')))
      )
    )
    .prepare()
  const findReusable = db
    .select()
    .from(links)
    .where(
      and(
        eq(links.urlHash, sql.placeholder('urlHash')),
        eq(links.target, sql.placeholder('target')),
        eq(links.reuseKey, sql.placeholder('reuseKey')),
        notDeleted,
        isNull(links.expiresAt),
        isNull(links.maxVisits),
        sql`${links.redirectStatus} IS ${sql.placeholder('redirectStatus')}`,
        eq(links.forwardQuery, sql.placeholder('forwardQuery')),
        eq(links.forwardPath, sql.placeholder('forwardPath'))
      )
    )
    .orderBy(desc(links.id))
    .limit(1)
    .prepare()
  let collisionRetries = 0

  function insertLink(input: RestoredLink): Link {
    const at = now()
    const values = {
      target: input.target,
      urlHash: urlHash(input.target),
      redirectStatus: input.redirectStatus ?? null,
      expiresAt: input.expiresAt ?? null,
      maxVisits: input.maxVisits ?? null,
      visits: input.visits ?? 0,
      forwardQuery: input.forwardQuery ?? true,
      forwardPath: input.forwardPath ?? false,
      createdAt: input.createdAt ?? at,
      // Only a plain link can be handed back by a reuse create.
      reuseKey: input.alias === undefined && isPlain(input) ? (input.reuseKey ?? null) : null,
      now: at,
    }
    // No RETURNING: every column of the new row is known here but its id, which the insert
    // reports anyway. Reading the row back would cost the write path a row decode per link.
    const inserted = (code: string): Link => ({
      id: Number(insert.run({ ...values, code }).lastInsertRowid),
      code,
      target: values.target,
      redirectStatus: values.redirectStatus,
      createdAt: values.createdAt,
      updatedAt: at,
      expiresAt: values.expiresAt,
      maxVisits: values.maxVisits,
      visits: values.visits,
      forwardQuery: values.forwardQuery,
      forwardPath: values.forwardPath,
    })
    if (input.alias !== undefined) {
      try {
        return inserted(input.alias)
      } catch (error) {
        if (isUniqueViolation(error)) throw new AliasTakenError(input.alias)
        throw error
      }
    }
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const code = codes.next()
      // A generated code must not shadow a route such as /healthz.
      if (isReserved(code)) continue
      try {
        return inserted(code)
      } catch (error) {
        if (!isUniqueViolation(error)) throw error
        collisionRetries++
      }
    }
    throw new CodeSpaceExhaustedError(maxAttempts)
  }

  function transaction<T>(fn: () => T): T {
    return db.transaction(() => fn(), { behavior: 'immediate' })
  }

  function changed(code: string, set: Partial<LinkRow>): Link | undefined {
    // MAX(now, updated_at + 1): the version grows even when the clock stalls or steps back.
    const row = db
      .update(links)
      .set({ ...set, updatedAt: sql`MAX(${now()}, ${links.updatedAt} + 1)` })
      .where(and(eq(links.code, code), notDeleted))
      .returning()
      .get()
    return row && toLink(row)
  }

  /** Links not deleted, oldest first, read in keyset pages of 500. */
  function* pages(): IterableIterator<Link> {
    // Keyset pages: no read transaction stays open while the caller streams the rows out.
    for (let after = 0, page: LinkRow[]; ; after = (page.at(-1) as LinkRow).id) {
      page = db
        .select()
        .from(links)
        .where(and(notDeleted, gt(links.id, after)))
        .orderBy(links.id)
        .limit(500)
        .all()
      for (const row of page) yield toLink(row)
      if (page.length < 500) return
    }
  }

  return {
    restore: insertLink,
    create(input, { reuse = false } = {}) {
      if (!reuse || input.reuseKey === undefined) return { link: insertLink(input), created: true }
      const reuseKey = input.reuseKey
      return transaction(() => {
        const existing = findReusable.get({
          urlHash: urlHash(input.target),
          target: input.target,
          reuseKey,
          redirectStatus: input.redirectStatus ?? null,
          // better-sqlite3 binds numbers, not booleans, in a WHERE placeholder.
          forwardQuery: (input.forwardQuery ?? true) ? 1 : 0,
          forwardPath: (input.forwardPath ?? false) ? 1 : 0,
        })
        if (existing) return { link: toLink(existing), created: false }
        return { link: insertLink(input), created: true }
      })
    },
    get(code) {
      const row = selectByCode.get({ code })
      return row && toLink(row)
    },
    getById(id) {
      const row = db
        .select()
        .from(links)
        .where(and(eq(links.id, id), notDeleted))
        .get()
      return row && toLink(row)
    },
    redirectEntry(code) {
      return selectRedirect.get({ code }) as RedirectEntry | undefined
    },
    list({ limit, before }) {
      return db
        .select()
        .from(links)
        .where(before === undefined ? notDeleted : and(notDeleted, lt(links.id, before)))
        .orderBy(desc(links.id))
        .limit(limit)
        .all()
        .map(toLink)
    },
    update(code, changes) {
      const set: Partial<LinkRow> = {}
      if (changes.target !== undefined) {
        set.target = changes.target
        set.urlHash = urlHash(changes.target)
      }
      if (changes.redirectStatus !== undefined) set.redirectStatus = changes.redirectStatus
      if (changes.expiresAt !== undefined) set.expiresAt = changes.expiresAt
      if (changes.forwardQuery !== undefined) set.forwardQuery = changes.forwardQuery
      if (changes.forwardPath !== undefined) set.forwardPath = changes.forwardPath
      return changed(code, set)
    },
    remove(code) {
      return changed(code, { deletedAt: now() })
    },
    countVisit(id) {
      return countVisit.run({ id, now: now() }).changes === 1
    },
    exists(code) {
      return db.select({ id: links.id }).from(links).where(eq(links.code, code)).get() !== undefined
    },
    *live() {
      const at = now()
      for (const link of pages()) if (isLive(link, at)) yield link
    },
    all: pages,
    transaction,
    get collisionRetries() {
      return collisionRetries
    },
  }
}
