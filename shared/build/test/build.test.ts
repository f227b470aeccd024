import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { buildEntry, copyRuntimeAssets } from '../src/build.js'

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const outDir = mkdtempSync(join(tmpdir(), 'kit-build-'))
afterAll(() => rmSync(outDir, { recursive: true, force: true }))

describe('buildEntry', () => {
  it('when an entry imports @kit/* and npm packages, bundles the first and keeps the second external', async () => {
    const outfile = join(outDir, 'main.js')

    await buildEntry({ entry: 'test/fixture/entry.ts', outfile, cwd: packageDir })

    const bundle = readFileSync(outfile, 'utf8')
    expect(bundle).toMatch(/from ["']esbuild["']/)
    expect(bundle).not.toContain('@kit/tsconfig')
    expect(bundle).toContain('noUncheckedIndexedAccess')
  })

  it('when the bundle runs under node, it resolves the external package and prints', async () => {
    const outfile = join(packageDir, 'dist', 'fixture.js')
    await buildEntry({ entry: 'test/fixture/entry.ts', outfile, cwd: packageDir })

    const output = execFileSync(process.execPath, [outfile], { encoding: 'utf8' })

    expect(JSON.parse(output)).toEqual({ esbuild: 'string', strict: true })
  })
})

describe('externalizeNpmPackages', () => {
  it('when an imported npm package is not a dependency of the project, fails the build naming it', async () => {
    const outfile = join(outDir, 'missing.js')

    const build = buildEntry({
      entry: 'test/fixture/missing-dependency.ts',
      outfile,
      cwd: packageDir,
    })

    await expect(build).rejects.toThrow(/"left-pad".*not a dependency/)
  })
})

describe('copyRuntimeAssets', () => {
  function project(files: Record<string, string>): string {
    const dir = mkdtempSync(join(outDir, 'assets-'))
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true })
      writeFileSync(join(dir, path), text)
    }
    return dir
  }

  it('when src holds Lua scripts and worker files in sub-folders, copies them flat beside the bundle and nothing else', () => {
    const cwd = project({
      'src/limiter/token-bucket.lua': '-- lua',
      'src/db/wal-checkpointer.worker.js': '// worker',
      'src/db/database.ts': 'export {}',
      'src/helper.js': '// not a worker',
    })

    const copied = copyRuntimeAssets({ cwd })

    expect(copied).toEqual(['dist/wal-checkpointer.worker.js', 'dist/token-bucket.lua'])
    expect(readdirSync(join(cwd, 'dist')).sort()).toEqual([
      'token-bucket.lua',
      'wal-checkpointer.worker.js',
    ])
    expect(readFileSync(join(cwd, 'dist/token-bucket.lua'), 'utf8')).toBe('-- lua')
  })

  it('when an asset left src since the last build, removes its copy and leaves the bundle alone', () => {
    const cwd = project({
      'src/db/current.worker.js': '// worker',
      'dist/removed.worker.js': '// stale',
      'dist/main.js': '// bundle',
    })

    copyRuntimeAssets({ cwd })

    expect(readdirSync(join(cwd, 'dist')).sort()).toEqual(['current.worker.js', 'main.js'])
  })

  it('when two assets share a name, fails naming both instead of letting one overwrite the other', () => {
    const cwd = project({ 'src/a/script.lua': 'a', 'src/b/script.lua': 'b' })

    expect(() => copyRuntimeAssets({ cwd })).toThrow(/a\/script\.lua and b\/script\.lua/)
  })
})
