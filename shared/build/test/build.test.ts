import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { buildEntry } from '../src/build.js'

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

    const build = buildEntry({ entry: 'test/fixture/missing-dependency.ts', outfile, cwd: packageDir })

    await expect(build).rejects.toThrow(/"left-pad".*not a dependency/)
  })
})
