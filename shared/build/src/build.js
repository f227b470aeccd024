// @ts-check
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { basename, join, relative } from 'node:path'
import * as esbuild from 'esbuild'

const builtins = new Set(builtinModules)

/**
 * `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`.
 * @param {string} specifier
 */
function packageName(specifier) {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier)
}

/**
 * Marks every bare import external except the kit's own `@kit/*` packages, and checks that each
 * external package resolves from the project itself.
 *
 * Why: `@kit/*` packages are just-in-time (their `exports` point at TypeScript source), so they
 * must be compiled into the bundle; npm packages must stay external so native addons
 * (better-sqlite3) and packages that read their own files at run time load as installed.
 * esbuild's `packages: 'external'` cannot make that exception, hence this plugin. Once bundled,
 * an import written in `@kit/http` is resolved from the project's `dist/`, and pnpm's isolated
 * `node_modules` only holds the project's own dependencies: a missing one would fail at start,
 * so the build fails now instead, naming it.
 * @param {string} projectDir
 * @returns {import('esbuild').Plugin}
 */
export function externalizeNpmPackages(projectDir) {
  return {
    name: 'externalize-npm-packages',
    setup(build) {
      /** @type {Map<string, string>} package → first importer */
      const missing = new Map()
      // Go regexps have no look-ahead: match every bare specifier, decide in the callback.
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('@kit/')) return undefined
        if (args.path.startsWith('node:') || builtins.has(args.path)) {
          return { path: args.path, external: true }
        }
        const name = packageName(args.path)
        if (!existsSync(join(projectDir, 'node_modules', name)) && !missing.has(name)) {
          missing.set(name, args.importer)
        }
        return { path: args.path, external: true }
      })
      build.onEnd((result) => {
        for (const [name, importer] of missing) {
          result.errors.push({
            id: 'missing-dependency',
            pluginName: 'externalize-npm-packages',
            text: `"${name}" (imported by ${importer}) is not a dependency of ${projectDir}; add it to its package.json so the bundle can resolve it at run time`,
            location: null,
            notes: [],
            detail: undefined,
          })
        }
      })
    },
  }
}

/**
 * Bundles `entry` to `outfile` as ESM for Node 20 with a source map.
 * @param {{ entry: string, outfile?: string, cwd?: string }} options
 * @returns {Promise<import('esbuild').BuildResult>}
 * @example
 * await buildEntry({ entry: 'src/main.ts', outfile: 'dist/main.js' })
 */
export async function buildEntry({ entry, outfile = 'dist/main.js', cwd = process.cwd() }) {
  const result = await esbuild.build({
    absWorkingDir: cwd,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [externalizeNpmPackages(cwd)],
    // ESM output has no `require`; some bundled CommonJS helpers still ask for it.
    banner: {
      js: "import { createRequire as __kitCreateRequire } from 'node:module'; const require = __kitCreateRequire(import.meta.url);",
    },
  })
  // Errors added by a plugin's onEnd do not reject the build: surface them here.
  if (result.errors.length > 0) {
    throw new Error(`kit-build failed:\n${result.errors.map((e) => `  ${e.text}`).join('\n')}`)
  }
  return result
}

/**
 * Files a bundle loads at run time beside itself: Redis scripts (`*.lua`, read with
 * `new URL('./x.lua', import.meta.url)`) and worker threads (`*.worker.js`, plain JavaScript
 * because a Worker cannot load TypeScript).
 */
export const RUNTIME_ASSET = /(\.lua|\.worker\.js)$/

/**
 * Copies every runtime asset under `srcDir` flat into `outDir`, where the bundle's
 * `import.meta.url` points, and removes the ones there that `srcDir` no longer has (a renamed
 * worker must not linger beside the bundle). Two assets with one name would overwrite each
 * other, so that fails the build, naming both.
 * @param {{ srcDir?: string, outDir?: string, cwd?: string }} options
 * @returns {string[]} the copied files, relative to `cwd`
 */
export function copyRuntimeAssets({ srcDir = 'src', outDir = 'dist', cwd = process.cwd() } = {}) {
  const from = join(cwd, srcDir)
  const to = join(cwd, outDir)
  const files = readdirSync(from, { recursive: true, encoding: 'utf8' })
    .filter((file) => RUNTIME_ASSET.test(file) && !file.split('/').includes('node_modules'))
    .sort()
  /** @type {Map<string, string>} */
  const byName = new Map()
  for (const file of files) {
    const clash = byName.get(basename(file))
    if (clash)
      throw new Error(
        `kit-build failed: ${clash} and ${file} would both be ${outDir}/${basename(file)}`
      )
    byName.set(basename(file), file)
  }
  mkdirSync(to, { recursive: true })
  for (const stale of readdirSync(to)) {
    if (RUNTIME_ASSET.test(stale) && !byName.has(stale)) rmSync(join(to, stale))
  }
  return files.map((file) => {
    copyFileSync(join(from, file), join(to, basename(file)))
    return relative(cwd, join(to, basename(file)))
  })
}
