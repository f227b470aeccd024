import { readFileSync } from 'node:fs'
import type { Algorithm } from './types.ts'

const loaded = new Map<Algorithm, string>()

/**
 * The Lua source of an algorithm's script, read once from `<algorithm>.lua` beside this module.
 *
 * Why a file read and not an import: the scripts stay plain `.lua` files (highlighted, linted,
 * diffed as Lua) and load the same way under vitest, tsx and a bundle. `new URL(..,
 * import.meta.url)` resolves next to the running module, so a bundle (esbuild → dist/main.js)
 * needs the `.lua` files copied beside it: the project's build script does `cp src/limiter/*.lua
 * dist/`. (Node 20 has no `with { type: 'text' }` imports.)
 */
export function luaScript(algorithm: Algorithm): string {
  let source = loaded.get(algorithm)
  if (source === undefined) {
    source = readFileSync(new URL(`./${algorithm}.lua`, import.meta.url), 'utf8')
    loaded.set(algorithm, source)
  }
  return source
}
