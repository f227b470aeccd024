import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { BenchResult, Machine } from './types.ts'

const run = promisify(execFile)

/** The packages whose versions a reader needs to reproduce a figure. */
export const STACK_PACKAGES = [
  'hono',
  '@hono/node-server',
  'autocannon',
  'ioredis',
  'better-sqlite3',
  'drizzle-orm',
] as const

const benchDir = dirname(dirname(fileURLToPath(import.meta.url)))

export function describeMachine(): Machine {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    totalMemoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()}`,
  }
}

/**
 * What a benchmark run writes itself: a run of several scenarios must not call the later ones
 * dirty because the earlier ones saved their results.
 */
const BENCHMARK_OUTPUTS = [
  ':(exclude,glob)**/benchmarks/results/**',
  ':(exclude,glob)**/benchmarks/charts/**',
  ':(exclude,glob)**/benchmarks/sections/**',
  ':(exclude,glob)**/benchmarks/REPORT.md',
]

/**
 * HEAD's sha, and whether the work tree differs from it (modified or untracked files: either can
 * change what ran; the benchmarks' own outputs do not count); null outside a git checkout.
 */
export async function describeGit(cwd: string): Promise<BenchResult['git']> {
  try {
    const { stdout: sha } = await run('git', ['rev-parse', 'HEAD'], { cwd })
    const { stdout: root } = await run('git', ['rev-parse', '--show-toplevel'], { cwd })
    const { stdout: status } = await run(
      'git',
      ['status', '--porcelain', '--', '.', ...BENCHMARK_OUTPUTS],
      { cwd: root.trim() }
    )
    return { sha: sha.trim(), dirty: status.trim() !== '' }
  } catch {
    return null
  }
}

/**
 * The version of `name` that Node would load from `fromDir`: walks up the node_modules folders
 * as resolution does, and reads the package.json found (a package's `exports` may hide it from
 * require.resolve).
 */
export async function packageVersion(name: string, fromDir: string): Promise<string | null> {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(
        await readFile(join(dir, 'node_modules', name, 'package.json'), 'utf8')
      ) as { version?: unknown }
      if (typeof manifest.version === 'string') return manifest.version
    } catch {
      // not installed here; keep walking up
    }
    if (dirname(dir) === dir) return null
  }
}

/** The version of `name` as @kit/bench itself resolves it (e.g. the autocannon it drives). */
export function benchPackageVersion(name: string): Promise<string | null> {
  return packageVersion(name, benchDir)
}

/** Versions of STACK_PACKAGES as the project (`cwd`) resolves them, else as this package does. */
export async function describeVersions(cwd: string): Promise<Record<string, string>> {
  const versions: Record<string, string> = {}
  for (const name of STACK_PACKAGES) {
    const version = (await packageVersion(name, cwd)) ?? (await packageVersion(name, benchDir))
    if (version !== null) versions[name] = version
  }
  return versions
}

/** Everything about where and with what a result was measured. */
export async function describeEnvironment(cwd: string) {
  return {
    machine: describeMachine(),
    node: process.version,
    git: await describeGit(cwd),
    versions: await describeVersions(cwd),
  }
}
