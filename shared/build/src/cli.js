#!/usr/bin/env node
// @ts-check
// Usage: kit-build <entry.ts> [outfile]   (default outfile: dist/main.js)
// Bundles the entry, then copies the runtime assets under src/ (*.lua, *.worker.js) beside it.
import { dirname } from 'node:path'
import { buildEntry, copyRuntimeAssets } from './build.js'

const [entry, outfile] = process.argv.slice(2)
if (!entry) {
  console.error('usage: kit-build <entry.ts> [outfile]')
  process.exit(2)
}
await buildEntry({ entry, ...(outfile ? { outfile } : {}) })
copyRuntimeAssets({ outDir: dirname(outfile ?? 'dist/main.js') })
