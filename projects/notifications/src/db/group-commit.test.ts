import { tempSqliteFile } from '@kit/testing'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createGroupCommit, type GroupCommit } from './group-commit.ts'

let file: ReturnType<typeof tempSqliteFile>
let sqlite: Database.Database
let other: Database.Database
let commit: GroupCommit

beforeEach(() => {
  file = tempSqliteFile('group-commit')
  sqlite = new Database(file.path)
  sqlite.pragma('journal_mode = WAL')
  sqlite.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)')
  other = new Database(file.path, { readonly: true })
  commit = createGroupCommit(sqlite)
})

afterEach(() => {
  other.close()
  sqlite.close()
  file.cleanup()
})

const insert = (body: string) => () =>
  sqlite.prepare('INSERT INTO notes (body) VALUES (?)').run(body).lastInsertRowid
/** WAL frames written since the last checkpoint: one commit of one page adds at least one. */
const walFrames = () => (sqlite.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!.log

describe('createGroupCommit()', () => {
  it('when 20 writes are asked for in one turn, they commit in one transaction; asked for one by one, in 20', async () => {
    sqlite.pragma('wal_checkpoint(TRUNCATE)')
    await Promise.all(Array.from({ length: 20 }, (_, i) => commit(insert(`together ${i}`))))
    const together = walFrames()

    sqlite.pragma('wal_checkpoint(TRUNCATE)')
    for (let i = 0; i < 20; i++) await commit(insert(`apart ${i}`))
    const apart = walFrames()

    expect(together).toBeLessThanOrEqual(2)
    expect(apart).toBeGreaterThanOrEqual(20)
  })

  it('when a write resolves, another connection already sees it, and it answers what the write returned', async () => {
    const id = await commit(insert('seen'))
    expect(other.prepare('SELECT id, body FROM notes').all()).toEqual([{ id, body: 'seen' }])
  })

  it('when one write of a group throws, only its caller rejects, its changes are rolled back and the others commit', async () => {
    await commit(insert('taken'))
    const outcomes = await Promise.allSettled([
      commit(insert('first')),
      commit(() => {
        sqlite.prepare('INSERT INTO notes (body) VALUES (?)').run('half done')
        return insert('taken')() // UNIQUE constraint: this write fails after its first insert
      }),
      commit(insert('last')),
    ])

    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/)
    const bodies = other.prepare('SELECT body FROM notes ORDER BY id').pluck().all()
    expect(bodies).toEqual(['taken', 'first', 'last'])
  })

  it('when another connection holds the write lock for a while, the group waits without blocking the event loop, then commits', async () => {
    const holder = new Database(file.path)
    holder.prepare('BEGIN IMMEDIATE').run()
    const written = commit(insert('waited'))
    let turns = 0
    const counting = setInterval(() => turns++, 1)
    await new Promise((resolve) => setTimeout(resolve, 100))
    holder.prepare('COMMIT').run()
    holder.close()
    await written
    clearInterval(counting)
    // SQLite's busy handler would have held the thread: no timer could have run meanwhile.
    expect(turns).toBeGreaterThanOrEqual(10)
    expect(other.prepare('SELECT body FROM notes').pluck().all()).toEqual(['waited'])
  })

  it('when another connection holds the write lock past the busy timeout, every write of the group rejects and none is kept', async () => {
    sqlite.pragma('busy_timeout = 50')
    commit = createGroupCommit(sqlite)
    const holder = new Database(file.path)
    holder.prepare('BEGIN IMMEDIATE').run()
    try {
      const outcomes = await Promise.allSettled([commit(insert('a')), commit(insert('b'))])
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected'])
      expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/locked|busy/i)
    } finally {
      holder.prepare('ROLLBACK').run()
      holder.close()
    }
    expect(other.prepare('SELECT count(*) FROM notes').pluck().get()).toBe(0)
    // And the next group commits.
    await commit(insert('after'))
    expect(other.prepare('SELECT body FROM notes').pluck().all()).toEqual(['after'])
  })
})
