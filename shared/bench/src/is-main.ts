import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * True when the module at `moduleUrl` is the program being run (`node x.ts`, `tsx x.ts`, or a
 * pnpm bin link to it): compares real paths, since a link's path differs from the module's.
 */
export function isMainModule(moduleUrl: string): boolean {
  const argv1 = process.argv[1]
  if (!argv1) return false
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(moduleUrl))
  } catch {
    return false
  }
}
