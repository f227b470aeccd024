import { tempSqliteFile } from '@kit/testing'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { createGroupCommit } from './group-commit.ts'

const file = tempSqliteFile('group-commit')
const sqlite = new Database(file.path)
sqlite.pragma('journal_mode = WAL')
sqlite.exec('CREATE TABLE items (name TEXT PRIMARY KEY)')
const insert = sqlite.prepare('INSERT INTO items (name) VALUES (?)')
const names = () =>
  (sqlite.prepare('SELECT name FROM items ORDER BY name').all() as { name: string }[]).map(
    (row) => row.name
  )
afterAll(() => {
  sqlite.close()
  file.cleanup()
})

/** A transaction runner over the real database that counts its transactions. */
function countingTransaction() {
  const counter = { transactions: 0 }
  const transaction = <T>(fn: () => T): T => {
    counter.transactions++
    return sqlite.transaction(fn).immediate()
  }
  return { counter, transaction }
}

describe('createGroupCommit', () => {
  it('when jobs are submitted in one turn, they commit in one transaction and resolve in order', async () => {
    const { counter, transaction } = countingTransaction()
    const commits = createGroupCommit({ transaction })

    const results = await Promise.all(
      ['a1', 'a2', 'a3'].map((name) => commits.submit(() => insert.run(name).changes))
    )

    expect(results).toEqual([1, 1, 1])
    expect(counter.transactions).toBe(1)
    expect(names()).toEqual(['a1', 'a2', 'a3'])
  })

  it('when one job fails, it rejects alone and the others commit', async () => {
    const { transaction } = countingTransaction()
    const commits = createGroupCommit({ transaction })

    const outcomes = await Promise.allSettled(
      ['b1', 'a1', 'b2'].map((name) => commits.submit(() => insert.run(name)))
    )

    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
    ])
    expect(names()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2'])
  })

  it('when the commit itself fails, every job of the batch rejects and nothing is written', async () => {
    const commits = createGroupCommit({
      transaction: (fn) =>
        sqlite.transaction(() => {
          fn()
          throw new Error('commit failed')
        })(),
    })

    const outcomes = await Promise.allSettled(
      ['c1', 'c2'].map((name) => commits.submit(() => insert.run(name)))
    )

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected'])
    expect(names()).not.toContain('c1')
  })

  it('when more jobs than maxBatch arrive, they are split over several transactions', async () => {
    const { counter, transaction } = countingTransaction()
    const commits = createGroupCommit({ transaction, maxBatch: 2 })

    await Promise.all(
      ['d1', 'd2', 'd3', 'd4', 'd5'].map((name) => commits.submit(() => insert.run(name)))
    )

    expect(counter.transactions).toBe(3)
    expect(names().filter((name) => name.startsWith('d'))).toHaveLength(5)
  })
})
