import { spawnSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { builtinModules } from 'node:module'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'

// Every folder listed in patterns.json is copied alone into an empty project that has only the
// npm packages the folder imports, compiled with strict tsc, and its tests are run there.
const root = fileURLToPath(new URL('..', import.meta.url))
type Entry = { folder: string; pattern: string }
const { patterns } = JSON.parse(readFileSync(join(root, 'patterns.json'), 'utf8')) as {
  patterns: Entry[]
}

/** What a copier's project needs: Node's own module rules, `.ts` imports, strict checks. */
const COPIER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    skipLibCheck: true,
    types: ['node'],
  },
  include: ['src'],
}

/** Tools the copied tests run with, taken from the kit's root install. */
const TOOLS = ['typescript', 'vitest', '@types/node']

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return /\.(ts|tsx|mts|js|mjs)$/.test(entry.name) ? [path] : []
  })
}

/** Every module specifier a file imports, exports from, or loads dynamically. */
function specifiersOf(file: string): string[] {
  return ts
    .preProcessFile(readFileSync(file, 'utf8'), true, true)
    .importedFiles.map((f) => f.fileName)
}

/** 'hono/combine' → 'hono', '@hono/node-server/conninfo' → '@hono/node-server'. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
}

const builtins = new Set(builtinModules)
function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtins.has(packageOf(specifier))
}

/** The package.json folder that owns `dir` (the project whose node_modules resolve its imports). */
function owningPackage(dir: string): string {
  let current = dir
  while (!existsSync(join(current, 'package.json'))) current = dirname(current)
  return current
}

function imports(folder: string) {
  const packages = new Set<string>()
  const outside: string[] = []
  for (const file of sourceFiles(folder)) {
    for (const specifier of specifiersOf(file)) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier)
        if (target !== folder && !target.startsWith(folder + sep)) {
          outside.push(`${relative(root, file)} → ${specifier}`)
        }
      } else if (!isBuiltin(specifier)) {
        packages.add(packageOf(specifier))
      }
    }
  }
  return { packages: [...packages].sort(), outside }
}

const made: string[] = []
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})

describe.each(patterns)('pattern folder $folder', ({ folder }) => {
  const source = join(root, folder)
  const { packages, outside } = imports(source)

  it('when its imports are read, none is @kit/* and none leaves the folder', () => {
    expect(existsSync(source), `${folder} exists`).toBe(true)

    expect(packages.filter((name) => name.startsWith('@kit/'))).toEqual([])
    expect(outside).toEqual([])
  })

  it('when copied alone into an empty project, it compiles with strict tsc and its tests pass', () => {
    const project = mkdtempSync(join(tmpdir(), 'kit-copy-'))
    made.push(project)
    const name = folder.split('/').at(-1)!
    cpSync(source, join(project, 'src', name), { recursive: true })
    writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module', private: true }))
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(COPIER_TSCONFIG, null, 2))
    // Only what the folder imports (from its project's install), and the tools to check it.
    const owner = owningPackage(source)
    mkdirSync(join(project, 'node_modules', '@types'), { recursive: true })
    // A package that ships no types is typed by its DefinitelyTyped twin (ws → @types/ws), which a
    // copier installs beside it; link it when the project has it.
    const typings = packages
      .map((pkg) => `@types/${pkg.startsWith('@') ? pkg.slice(1).replace('/', '__') : pkg}`)
      .filter((types) => existsSync(join(owner, 'node_modules', types)))
    for (const pkg of [...packages, ...typings, ...TOOLS]) {
      const from = [owner, root]
        .map((dir) => join(dir, 'node_modules', pkg))
        .find((path) => existsSync(path))
      expect(from, `${pkg} is installed for ${folder}`).toBeDefined()
      mkdirSync(dirname(join(project, 'node_modules', pkg)), { recursive: true })
      if (!existsSync(join(project, 'node_modules', pkg))) {
        symlinkSync(from!, join(project, 'node_modules', pkg), 'dir')
      }
    }

    const tsc = spawnSync(
      process.execPath,
      [join(project, 'node_modules/typescript/bin/tsc'), '-p', project],
      { cwd: project, encoding: 'utf8' }
    )
    expect(tsc.stdout + tsc.stderr, 'tsc output').toBe('')
    expect(tsc.status).toBe(0)

    const report = join(project, 'vitest.json')
    const vitest = spawnSync(
      process.execPath,
      [
        join(project, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--root',
        project,
        '--reporter=json',
        `--outputFile=${report}`,
        '--sequence.shuffle',
      ],
      { cwd: project, encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 240_000 }
    )
    const results = existsSync(report)
      ? (JSON.parse(readFileSync(report, 'utf8')) as {
          numTotalTests: number
          numPassedTests: number
          numFailedTests: number
        })
      : undefined
    expect(results, vitest.stdout + vitest.stderr).toBeDefined()
    expect(results!.numFailedTests, vitest.stdout + vitest.stderr).toBe(0)
    expect(results!.numTotalTests).toBeGreaterThan(0)
    expect(results!.numPassedTests).toBe(results!.numTotalTests)
    expect(vitest.status).toBe(0)
  }, 300_000)
})
