import { randomBytes } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { ConfigError } from '@kit/config'

/** Where the generated key goes by default: beside the database, `<name>.api-key`. */
export function defaultApiKeyFile(dbFile: string): string {
  if (dbFile === ':memory:') return './url-shortener.api-key'
  return `${dbFile.replace(/\.(db|sqlite3?)$/i, '')}.api-key`
}

/**
 * The management key when API_KEY is unset: read from `path`, or generated (32 random bytes,
 * base64url) and written there with mode 0600 on the first start. It is never logged: the
 * operator reads the file. Two instances starting together on one volume agree on one key: the
 * file is written under a temporary name and linked into place, which fails if it exists, and
 * the loser reads the winner's key.
 *
 * @throws {ConfigError} naming API_KEY_FILE when the file is readable by group or others, or
 * cannot be read or written.
 * @example
 * ```ts
 * const { key, created } = loadOrCreateApiKey('./data/url-shortener.api-key')
 * ```
 */
export function loadOrCreateApiKey(path: string): { key: string; created: boolean } {
  const fail = (message: string) => new ConfigError([{ key: 'API_KEY_FILE', message }])
  let created = false
  try {
    mkdirSync(dirname(path), { recursive: true })
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`
    writeFileSync(temporary, `${randomBytes(32).toString('base64url')}\n`, {
      mode: 0o600,
      flag: 'wx',
    })
    try {
      linkSync(temporary, path)
      created = true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    } finally {
      rmSync(temporary, { force: true })
    }
  } catch (error) {
    throw fail(`${path} cannot be written (${(error as Error).message}); set API_KEY instead`)
  }
  let mode: number
  let key: string
  try {
    mode = statSync(path).mode
    key = readFileSync(path, 'utf8').trim()
  } catch (error) {
    throw fail(`${path} cannot be read (${(error as Error).message}); set API_KEY instead`)
  }
  if ((mode & 0o077) !== 0) throw fail(`${path} is readable by group or others; chmod 600 it`)
  if (key.length < 16) throw fail(`${path} holds no key of at least 16 characters`)
  return { key, created }
}
