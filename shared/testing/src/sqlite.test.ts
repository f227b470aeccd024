import { existsSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempSqliteFile } from './sqlite.ts'
import { uniqueName } from './unique-name.ts'

describe('tempSqliteFile()', () => {
  it('when called twice, gives two distinct paths in fresh dirs', () => {
    const a = tempSqliteFile('links')
    const b = tempSqliteFile('links')

    expect(a.path).not.toBe(b.path)
    expect(a.path).toMatch(/links-[^/]+\/links\.db$/)
    expect(existsSync(dirname(a.path))).toBe(true)
    a.cleanup()
    b.cleanup()
  })

  it('when cleaned up, removes the file with its -wal and -shm side files', () => {
    const db = tempSqliteFile()
    for (const suffix of ['', '-wal', '-shm']) writeFileSync(db.path + suffix, 'x')

    db.cleanup()

    expect(existsSync(db.path)).toBe(false)
    expect(existsSync(`${db.path}-wal`)).toBe(false)
    expect(existsSync(dirname(db.path))).toBe(false)
  })
})

describe('uniqueName()', () => {
  it('when given a label, returns test-<label>-<8 hex>, different on each call', () => {
    const a = uniqueName('links')
    const b = uniqueName('links')

    expect(a).toMatch(/^test-links-[0-9a-f]{8}$/)
    expect(a).not.toBe(b)
  })
})
