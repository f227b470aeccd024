import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import type { MemoryBoundedReport } from './memory-bounded-child.ts'

// The memory backend's footprint is bounded by live keys, not by every key
// ever seen. The measurement runs in a child `node --expose-gc` (same tsx runner as the other
// child-process tests) so heapUsed is this limiter's alone and a full GC can be forced.
const MB = 1024 * 1024
const BOUND_BYTES = 50 * MB

const CHILD = fileURLToPath(new URL('./memory-bounded-child.ts', import.meta.url))
const PROJECT_DIR = fileURLToPath(new URL('..', import.meta.url))

async function measure(): Promise<MemoryBoundedReport> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', CHILD],
    { cwd: PROJECT_DIR, timeout: 30_000 }
  )
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as MemoryBoundedReport
}

const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`

describe('memory limiter bounded', () => {
  it('when 1,000,000 distinct keys go idle past their 1 s window, the sweep empties the store and the heap returns to within 50 MB of its baseline', async () => {
    const report = await measure()
    console.info(
      `memory bound: ${report.keys} keys filled in ${report.fillMs} ms; heap ${mb(report.baselineBytes)}` +
        ` -> ${mb(report.filledBytes)} held -> ${mb(report.afterBytes)} after a` +
        ` ${report.sweepMs} ms sweep (delta ${mb(report.afterBytes - report.baselineBytes)},` +
        ` ${report.sizeAfterIdle} keys left)`
    )

    expect(report.sizeAfterFill).toBe(1_000_000)
    // The bound is meaningful: holding the keys costs more than it allows.
    expect(report.filledBytes - report.baselineBytes).toBeGreaterThan(BOUND_BYTES)
    expect(report.sizeAfterIdle).toBe(0)
    expect(report.afterBytes - report.baselineBytes).toBeLessThan(BOUND_BYTES)
  }, 30_000)
})
