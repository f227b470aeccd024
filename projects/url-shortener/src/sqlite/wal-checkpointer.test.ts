import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { startWalCheckpointer } from './wal-checkpointer.ts'
import type { WalCheckpointer } from './wal-checkpointer.ts'

const PAGE = 4096
const dirs: string[] = []
const opened: { sqlite: Database.Database; checkpointer?: WalCheckpointer }[] = []

afterEach(async () => {
  for (const { sqlite, checkpointer } of opened.splice(0)) {
    await checkpointer?.stop()
    if (sqlite.open) sqlite.close()
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function openWal(): { sqlite: Database.Database; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wal-checkpointer-'))
  dirs.push(dir)
  const path = join(dir, 'wal.db')
  const sqlite = new Database(path)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT)')
  opened.push({ sqlite })
  return { sqlite, path }
}

/**
 * Commits `batches` transactions of 20 random-key rows, one per event-loop turn, as a busy
 * writer does, and returns the WAL's length in frames after each commit.
 */
async function writeSteadily(
  sqlite: Database.Database,
  batches: number,
  until: (walFrames: number[]) => boolean = () => false
): Promise<number[]> {
  const insert = sqlite.prepare('INSERT INTO t (k, v) VALUES (?, ?)')
  const commit = sqlite.transaction((n: number) => {
    for (let i = 0; i < n; i++) insert.run(crypto.randomUUID(), 'x'.repeat(200))
  })
  const walFrames: number[] = []
  for (let b = 0; b < batches && !until(walFrames); b++) {
    commit(20)
    walFrames.push(walLength(sqlite))
    await new Promise((resolve) => setImmediate(resolve))
  }
  return walFrames
}

/** How many times the WAL went back to its head (its length dropped between two commits). */
function restartsOf(walFrames: number[]): number {
  return walFrames.filter((n, i) => i > 0 && n < (walFrames[i - 1] as number)).length
}

/**
 * Frames in the WAL: `mxFrame` in the WAL-index header, at byte 16 of the -shm file
 * (https://sqlite.org/walformat.html#the_wal_index_file_format). Reading it copies nothing,
 * where asking `wal_checkpoint` would.
 */
function walLength(sqlite: Database.Database): number {
  const header = Buffer.alloc(20)
  const fd = openSync(`${sqlite.name}-shm`, 'r')
  try {
    readSync(fd, header, 0, 20, 0)
  } finally {
    closeSync(fd)
  }
  return header.readUInt32LE(16)
}

/** Resolves once `check` holds, polling every 10 ms; fails after 5 s with `message`. */
async function until(check: () => boolean, message: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(message)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('startWalCheckpointer', () => {
  it('when a writer commits without pause, keeps the WAL bounded although the writer never checkpoints', async () => {
    const { sqlite, path } = openWal()
    const restartPages = 500
    const checkpointer = startWalCheckpointer({ sqlite, intervalMs: 20, restartPages })
    opened.push({ sqlite, checkpointer })

    // Until the WAL has restarted 10 times, as fast as the checkpoint thread gets CPU on this
    // machine; 15,000 commits bound the wait if it never does.
    const walFrames = await writeSteadily(sqlite, 15_000, (frames) => restartsOf(frames) >= 10)

    // Each drop of the WAL's length is a restart from its head. Without one, the WAL only grows
    // and its peak is every frame ever written.
    const written = walFrames.reduce((sum, n, i) => {
      const before = i === 0 ? 0 : (walFrames[i - 1] as number)
      return sum + (n < before ? n : n - before)
    }, 0)
    expect(restartsOf(walFrames)).toBeGreaterThanOrEqual(10)
    expect(Math.max(...walFrames)).toBeLessThan(written)
    // journal_size_limit gives the disk back after restarts: the file never holds it all.
    expect(statSync(`${path}-wal`).size).toBeLessThan(written * PAGE)
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0)
    expect(checkpointer.last).toBeDefined()
    expect(sqlite.prepare('SELECT count(*) AS n FROM t').get()).toEqual({
      n: walFrames.length * 20,
    })
  })

  it('when stopped and the writer closes, the WAL is copied back and removed', async () => {
    const { sqlite, path } = openWal()
    const checkpointer = startWalCheckpointer({ sqlite, intervalMs: 20 })
    await writeSteadily(sqlite, 50)

    await checkpointer.stop()
    sqlite.close()

    expect(existsSync(`${path}-wal`)).toBe(false)
    const reopened = new Database(path, { readonly: true })
    expect(reopened.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1000 })
    reopened.close()
  })

  it('when the thread cannot open the database, reports the error and gives checkpoints back to the writer', async () => {
    const { sqlite } = openWal()
    const errors: unknown[] = []
    // The thread opens the file by name with fileMustExist: a name that is not the file fails.
    const renamed = new Proxy(sqlite, {
      get(target, key) {
        if (key === 'name') return `${target.name}.gone`
        const value: unknown = Reflect.get(target, key)
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value
      },
    })

    const checkpointer = startWalCheckpointer({
      sqlite: renamed,
      onError: (error) => errors.push(error),
    })
    opened.push({ sqlite, checkpointer })

    await until(() => errors.length > 0, 'no checkpointer error reported')
    // The thread's SqliteError arrives structured-cloned: its code survives, not its class.
    expect(errors[0]).toMatchObject({ code: 'SQLITE_CANTOPEN' })
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
  })
})
