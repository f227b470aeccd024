import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { generateSQLiteDrizzleJson, generateSQLiteMigration } from 'drizzle-kit/api'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AliasTakenError, CodeSpaceExhaustedError, createLinkStore } from './link-store.ts'
import type { CodeSource } from './link-store.ts'
import * as schema from './links.schema.ts'

/**
 * A real SQLite file in a fresh temp dir, in WAL mode as production runs it, with the tables of
 * links.schema.ts created by drizzle-kit from the schema itself (the same DDL its migrations
 * hold). One per test: no test sees another's rows.
 */
async function openTestDb() {
  const dir = mkdtempSync(join(tmpdir(), 'link-store-'))
  const sqlite = new Database(join(dir, 'links.db'))
  sqlite.pragma('journal_mode = WAL')
  const empty = await generateSQLiteDrizzleJson({})
  for (const statement of await generateSQLiteMigration(
    empty,
    await generateSQLiteDrizzleJson(schema)
  )) {
    sqlite.exec(statement)
  }
  return {
    db: drizzle({ client: sqlite }),
    cleanup() {
      sqlite.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

let database: Awaited<ReturnType<typeof openTestDb>>
beforeEach(async () => {
  database = await openTestDb()
})
afterEach(() => database.cleanup())

/** Hands out the given codes in order, then fresh ones. */
function scripted(...codes: string[]): CodeSource {
  let fresh = 0
  return { next: () => codes.shift() ?? `fresh${String(fresh++).padStart(5, '0')}` }
}

describe('createLinkStore', () => {
  it('when a generated code collides, draws again and counts the retry', () => {
    const store = createLinkStore({
      db: database.db,
      codes: scripted('same0001', 'same0001', 'other001'),
    })

    const first = store.create({ target: 'https://a.example/' }).link
    const second = store.create({ target: 'https://b.example/' }).link

    expect([first.code, second.code]).toEqual(['same0001', 'other001'])
    expect(store.collisionRetries).toBe(1)
  })

  it('when a generated code is a reserved word, skips it', () => {
    const store = createLinkStore({
      db: database.db,
      codes: scripted('healthz', 'Metrics', 'fine0001'),
    })

    const { link } = store.create({ target: 'https://a.example/' })

    expect(link.code).toBe('fine0001')
  })

  it('when every attempt collides, throws CodeSpaceExhaustedError', () => {
    const store = createLinkStore({
      db: database.db,
      codes: { next: () => 'same0001' },
      maxAttempts: 3,
    })
    store.create({ target: 'https://first.example/' })

    expect(() => store.create({ target: 'https://a.example/' })).toThrow(CodeSpaceExhaustedError)
    expect(store.collisionRetries).toBe(3)
  })

  it('when an alias is taken, throws AliasTakenError; another case is another alias', () => {
    const store = createLinkStore({ db: database.db, codes: scripted() })
    store.create({ target: 'https://a.example/', alias: 'taken' })

    expect(() => store.create({ target: 'https://b.example/', alias: 'taken' })).toThrow(
      AliasTakenError
    )
    expect(store.create({ target: 'https://b.example/', alias: 'TAKEN' }).created).toBe(true)
  })

  it("when reuse is asked, returns the caller's own plain live link of that target, never another's or one with limits", () => {
    const store = createLinkStore({ db: database.db, codes: scripted() })
    const target = 'https://reuse.example/'
    const limited = store.create({ target, maxVisits: 3, reuseKey: 'me' }).link
    const aliased = store.create({ target, alias: 'reuse-alias', reuseKey: 'me' }).link
    const plain = store.create({ target, reuseKey: 'me' }).link

    const reused = store.create({ target, reuseKey: 'me' }, { reuse: true })
    const permanent = store.create({ target, redirectStatus: 301, reuseKey: 'me' }, { reuse: true })
    const someoneElse = store.create({ target, reuseKey: 'you' }, { reuse: true })
    const nobody = store.create({ target }, { reuse: true })

    expect(reused).toEqual({ link: plain, created: false })
    expect([limited.code, aliased.code]).not.toContain(reused.link.code)
    expect(permanent.created).toBe(true)
    expect(someoneElse.created).toBe(true)
    expect(nobody.created).toBe(true)
  })

  it('when a link changes while the clock stands still, its version still grows', () => {
    const store = createLinkStore({ db: database.db, codes: scripted(), now: () => 1_000 })
    const { link } = store.create({ target: 'https://v.example/' })

    const edited = store.update(link.code, { target: 'https://v2.example/' })
    const deleted = store.remove(link.code)

    expect(edited?.updatedAt).toBe(1_001)
    expect(deleted?.updatedAt).toBe(1_002)
    expect(store.get(link.code)).toBeUndefined()
    expect(store.redirectEntry(link.code)).toBeUndefined()
    expect(store.exists(link.code)).toBe(true)
  })

  it('when a limited link is visited past its limit, the extra visits are refused', () => {
    const store = createLinkStore({ db: database.db, codes: scripted() })
    const { link } = store.create({ target: 'https://limited.example/', maxVisits: 3 })

    const allowed = Array.from({ length: 5 }, () => store.countVisit(link.id))

    expect(allowed).toEqual([true, true, true, false, false])
    expect(store.get(link.code)?.visits).toBe(3)
  })

  it('when more than one page of links exists, live() yields every live one once', () => {
    let clock = 10_000
    const store = createLinkStore({ db: database.db, codes: scripted(), now: () => clock })
    const created = store.transaction(() =>
      Array.from(
        { length: 1200 },
        (_, i) =>
          store.create({ target: `https://page.example/${i}`, expiresAt: i % 2 ? 20_000 : null })
            .link
      )
    )

    clock = 30_000
    const live = [...store.live()].filter((link) => link.target.startsWith('https://page.example/'))

    expect(created).toHaveLength(1200)
    expect(live).toHaveLength(600)
    expect(new Set(live.map((link) => link.id)).size).toBe(600)
  })
})
