import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const read = (path: string) => readFileSync(join(root, path), 'utf8')
const readme = read('README.md')
const rootScripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> })
  .scripts

/** The commands of the README's first shell block, without comments. */
function firstScreenCommands(): string[] {
  const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
}

describe('README first screen', () => {
  it('when read, shows exactly two commands: start the shortener, run the tests', () => {
    const commands = firstScreenCommands()

    expect(commands).toEqual(['pnpm install && pnpm url-shortener', 'pnpm install && pnpm test'])
  })

  it('when a command runs a root script, the script exists and targets the right package', () => {
    expect(rootScripts['url-shortener']).toBe('pnpm --filter @kit/url-shortener start')
    expect(rootScripts['test']).toMatch(/^turbo run /)
  })

  it('when CI runs, .ci/run ends with the README test command verbatim', () => {
    const ci = read('.ci/run').trim().split('\n')

    expect(ci.at(-1)).toBe(firstScreenCommands()[1])
  })

  it('when CI runs, .ci/run starts the README first command with no build variable and an empty store', () => {
    const ci = read('.ci/run')
    const lines = ci.split('\n').map((line) => line.trim())
    const unset = lines.findIndex((line) => line.startsWith('unset '))
    const store = lines.findIndex((line) =>
      /^export pnpm_config_store_dir="\$work\/store"$/.test(line)
    )
    const first = lines.findIndex(
      (line) => line === `bash .ci/first-command "${firstScreenCommands()[0]}"`
    )

    expect(lines[unset]?.split(/\s+/)).toEqual(
      expect.arrayContaining(['npm_config_nodedir', 'NPM_CONFIG_NODEDIR', 'npm_config_node_gyp'])
    )
    expect(lines).toContain('work="$(mktemp -d)"')
    // Both are in force before anything is installed.
    expect(unset).toBeGreaterThan(-1)
    expect(store).toBeGreaterThan(unset)
    expect(first).toBeGreaterThan(store)
  })

  it('when the project table gives a default port, each project takes that port with nothing set', async () => {
    const rows = [...readme.matchAll(/^\| \[[^\]]+\]\((projects\/[^)]+)\) .*?\| (\d{4}) \|/gm)]

    expect(rows.map((row) => row[1])).toEqual([
      'projects/url-shortener',
      'projects/rate-limiter',
      'projects/task-queue',
      'projects/chat',
      'projects/notifications',
    ])
    for (const [, project, port] of rows) {
      // A path in a variable: the root type-check does not follow into the projects.
      const module = join(root, project!, 'src', 'config.ts')
      const { loadConfig } = (await import(module)) as {
        loadConfig: (env: Record<string, string | undefined>) => { PORT: number }
      }
      expect(loadConfig({}).PORT, project).toBe(Number(port))
    }
  })

  it('when the project table links a report or a project, the path exists', () => {
    const links = [...readme.matchAll(/\]\(((?:projects|loadtests)\/[^)#]+)\)/g)].map((m) => m[1]!)

    expect(links.length).toBeGreaterThan(0)
    for (const link of links) expect(existsSync(join(root, link)), link).toBe(true)
  })
})
