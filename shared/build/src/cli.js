#!/usr/bin/env node
// @ts-check
// Usage: kit-build <entry.ts> [outfile]   (default outfile: dist/main.js)
import { buildEntry } from './build.js'

const [entry, outfile] = process.argv.slice(2)
if (!entry) {
  console.error('usage: kit-build <entry.ts> [outfile]')
  process.exit(2)
}
await buildEntry({ entry, ...(outfile ? { outfile } : {}) })
