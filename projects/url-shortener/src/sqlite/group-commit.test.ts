import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createGroupCommit } from './group-commit.ts'

/** A real SQLite file in WAL mode with one table, fresh for every test. */
function openItems() {
  const dir = mkdtempSync(join(tmpdir(), 'group-commit-'))
  const sqlite = new Database(join(dir, 'items.db'))
  sqlite.pragma('journal_mode = WAL')
  sqlite.exec('CREATE TABLE items (name TEXT PRIMARY KEY)')
  const insert = sqlite.prepare('INSERT INTO items (name) VALUES (?)')
  const names = () =>
    (sqlite.prepare('SELECT name FROM items ORDER BY name').all() as { name: string }[]).map(
      (row) => row.name
    )
  const counter = { transactions: 0 }
  /** A transaction runner over the real database that counts its transactions. */
  const transaction = <T>(fn: () => T): T => {
    counter.transactions++
    return sqlite.transaction(fn).immediate()
  }
  return {
    sqlite,
    insert,
    names,
    counter,
    transaction,
    close() {
      sqlite.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

describe('createGroupCommit', () => {
  let items: ReturnType<typeof openItems>
  beforeEach(() => {
    items = openItems()
  })
  afterEach(() => items.close())

  it('when jobs are submitted in one turn, they commit in one transaction and resolve in order', async () => {
    const commits = createGroupCommit({ transaction: items.transaction })

    const results = await Promise.all(
      ['a1', 'a2', 'a3'].map((name) => commits.submit(() => items.insert.run(name).changes))
    )

    expect(results).toEqual([1, 1, 1])
    expect(items.counter.transactions).toBe(1)
    expect(items.names()).toEqual(['a1', 'a2', 'a3'])
  })

  it('when one job fails, it rejects alone and the others commit', async () => {
    items.insert.run('a1')
    const commits = createGroupCommit({ transaction: items.transaction })

    const outcomes = await Promise.allSettled(
      ['b1', 'a1', 'b2'].map((name) => commits.submit(() => items.insert.run(name)))
    )

    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
    ])
    expect(items.names()).toEqual(['a1', 'b1', 'b2'])
  })

  it('when the commit itself fails, every job of the batch rejects and nothing is written', async () => {
    const commits = createGroupCommit({
      transaction: (fn) =>
        items.sqlite.transaction(() => {
          fn()
          throw new Error('commit failed')
        })(),
    })

    const outcomes = await Promise.allSettled(
      ['c1', 'c2'].map((name) => commits.submit(() => items.insert.run(name)))
    )

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected'])
    expect(items.names()).toEqual([])
  })

  it('when more jobs than maxBatch arrive, they are split over several transactions', async () => {
    const commits = createGroupCommit({ transaction: items.transaction, maxBatch: 2 })

    await Promise.all(
      ['d1', 'd2', 'd3', 'd4', 'd5'].map((name) => commits.submit(() => items.insert.run(name)))
    )

    expect(items.counter.transactions).toBe(3)
    expect(items.names()).toEqual(['d1', 'd2', 'd3', 'd4', 'd5'])
  })
})
