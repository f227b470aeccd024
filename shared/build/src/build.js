// @ts-check
import * as esbuild from 'esbuild'

/**
 * Marks every bare import external except the kit's own `@kit/*` packages.
 *
 * Why: `@kit/*` packages are just-in-time (their `exports` point at TypeScript source), so they
 * must be compiled into the bundle; npm packages must stay external so native addons
 * (better-sqlite3) and packages that read their own files at run time load as installed.
 * esbuild's `packages: 'external'` cannot make that exception, hence this plugin.
 * @type {import('esbuild').Plugin}
 */
export const externalizeNpmPackages = {
  name: 'externalize-npm-packages',
  setup(build) {
    // Go regexps have no look-ahead: match every bare specifier, decide in the callback.
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@kit/')) return undefined
      return { path: args.path, external: true }
    })
  },
}

/**
 * Bundles `entry` to `outfile` as ESM for Node 20 with a source map.
 * @param {{ entry: string, outfile?: string, cwd?: string }} options
 * @returns {Promise<import('esbuild').BuildResult>}
 * @example
 * await buildEntry({ entry: 'src/main.ts', outfile: 'dist/main.js' })
 */
export function buildEntry({ entry, outfile = 'dist/main.js', cwd = process.cwd() }) {
  return esbuild.build({
    absWorkingDir: cwd,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [externalizeNpmPackages],
    // ESM output has no `require`; some bundled CommonJS helpers still ask for it.
    banner: { js: "import { createRequire as __kitCreateRequire } from 'node:module'; const require = __kitCreateRequire(import.meta.url);" },
  })
}
