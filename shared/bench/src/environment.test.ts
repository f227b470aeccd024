import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { describeGit } from './environment.ts'

/** A real git repository with one commit: a project with a benchmarks folder. */
function repository(): { root: string; project: string } {
  const root = mkdtempSync(join(tmpdir(), 'bench-git-'))
  const project = join(root, 'projects', 'demo')
  mkdirSync(join(project, 'benchmarks', 'results'), { recursive: true })
  writeFileSync(join(project, 'main.ts'), 'export {}\n')
  writeFileSync(join(project, 'benchmarks', 'REPORT.md'), '# report\n')
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'pipe' })
  git('init', '-q')
  git('add', '.')
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'init')
  return { root, project }
}

describe('describeGit', () => {
  it('when the tree is as committed, gives the sha and clean', async () => {
    const { project } = repository()

    const git = await describeGit(project)

    expect(git?.sha).toMatch(/^[0-9a-f]{40}$/)
    expect(git?.dirty).toBe(false)
  })

  it('when only a run wrote its results, report and charts, the tree still counts as clean', async () => {
    const { project } = repository()
    writeFileSync(join(project, 'benchmarks', 'results', '2026-01-01-redirect.json'), '{}')
    writeFileSync(join(project, 'benchmarks', 'REPORT.md'), '# regenerated\n')
    mkdirSync(join(project, 'benchmarks', 'charts'))
    writeFileSync(join(project, 'benchmarks', 'charts', 'redirect.svg'), '<svg/>')

    expect((await describeGit(project))?.dirty).toBe(false)
  })

  it('when code changed or a file was added, anywhere in the repository, the tree is dirty', async () => {
    const changed = repository()
    writeFileSync(join(changed.project, 'main.ts'), 'export const x = 1\n')
    const added = repository()
    writeFileSync(join(added.root, 'other.ts'), 'export {}\n')

    expect((await describeGit(changed.project))?.dirty).toBe(true)
    expect((await describeGit(added.project))?.dirty).toBe(true)
  })
})
