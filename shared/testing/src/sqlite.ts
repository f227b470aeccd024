import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A unique SQLite file path inside a fresh temp dir. The file itself is not created: the
 * driver creates it on open. `cleanup()` removes the whole dir, so the `-wal` and `-shm`
 * side files of WAL mode go with it. Close the database before calling it.
 *
 * @example
 * ```ts
 * const db = tempSqliteFile('links')
 * afterAll(() => { sqlite.close(); db.cleanup() })
 * ```
 */
export function tempSqliteFile(prefix = 'kit'): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
  return {
    path: join(dir, `${prefix}.db`),
    cleanup() {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
