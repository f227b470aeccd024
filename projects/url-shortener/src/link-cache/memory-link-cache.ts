import { LRUCache } from 'lru-cache'
import type { LinkCache } from './link-cache.ts'

export type MemoryLinkCacheOptions<T extends object> = {
  /** The source of truth: the value for a code, or undefined when there is none. */
  load: (code: string) => T | undefined
  /** Most entries kept; the least recently used goes first. */
  maxEntries?: number
}

/**
 * The embedded cache: an LRU (`lru-cache`) in this process. A hit is a Map lookup. The only
 * writer is this process and `change()` forgets the entry in the same turn as the write, so
 * no read can see the old value after it.
 *
 * @example
 * ```ts
 * const cache = createMemoryLinkCache({ load: (code) => store.redirectEntry(code) })
 * ```
 */
export function createMemoryLinkCache<T extends object>({
  load,
  maxEntries = 10_000,
}: MemoryLinkCacheOptions<T>): LinkCache<T> {
  const lru = new LRUCache<string, T>({ max: maxEntries })
  const counters = { hits: 0, misses: 0 }
  return {
    get(code) {
      const cached = lru.get(code)
      if (cached !== undefined) {
        counters.hits++
        return Promise.resolve(cached)
      }
      counters.misses++
      const value = load(code)
      if (value !== undefined) lru.set(code, value)
      return Promise.resolve(value)
    },
    change(code, apply) {
      const result = apply()
      lru.delete(code)
      return Promise.resolve(result)
    },
    warm(entries) {
      let stored = 0
      for (const [code, value] of entries) {
        lru.set(code, value)
        stored++
      }
      return Promise.resolve(stored)
    },
    stats: () => ({ mode: 'memory', ...counters, errors: 0, degraded: false }),
    ready: () => Promise.resolve(),
    close() {},
  }
}
