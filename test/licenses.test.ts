import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The kit is meant to be copied into other apps, so what a project needs at run time must carry
// a permissive licence. ua-parser-js 2.x (AGPL-3.0) is the case that made this test.
const root = fileURLToPath(new URL('..', import.meta.url))
const COPYLEFT = /\b(A?GPL|SSPL|EUPL|OSL)\b/i

type Manifest = { name: string; license?: string; dependencies?: Record<string, string> }
const readManifest = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest

/** A project's production dependencies and theirs, as installed (pnpm links each one). */
function runtimeLicences(projectDir: string): Map<string, string> {
  const seen = new Map<string, string>()
  const visit = (dir: string) => {
    for (const name of Object.keys(readManifest(dir).dependencies ?? {})) {
      const depDir = join(dir, 'node_modules', name)
      const manifest = readManifest(depDir)
      const key = `${manifest.name}`
      if (seen.has(key)) continue
      seen.set(key, manifest.license ?? '(none)')
      if (!name.startsWith('@kit/')) continue
      visit(depDir)
    }
  }
  visit(projectDir)
  return seen
}

describe('runtime dependency licences', () => {
  const projects = readdirSync(join(root, 'projects'))

  it.each(projects)('when %s is installed, no dependency it ships with is copyleft', (project) => {
    const licences = runtimeLicences(join(root, 'projects', project))

    expect(licences.size).toBeGreaterThan(0)
    const copyleft = [...licences].filter(([, licence]) => COPYLEFT.test(licence))
    expect(copyleft).toEqual([])
  })
})
