import { randomUUID } from 'node:crypto'

/**
 * A unique, readable name for the keys, queues or channels of one test file, so files running
 * in parallel against one Redis never see each other's data: `test-<label>-<uuid8>`.
 *
 * @example
 * ```ts
 * const prefix = uniqueName('links') // 'test-links-1f0c9a2b'
 * ```
 */
export function uniqueName(label?: string): string {
  const id = randomUUID().slice(0, 8)
  return label ? `test-${label}-${id}` : `test-${id}`
}
