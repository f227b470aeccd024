import { describe, expect, it } from 'vitest'
import { createMemoryLinkCache } from './memory-link-cache.ts'

type Entry = { target: string; version: number }

/** A tiny source of truth: a Map with a load counter. */
function createSource() {
  const rows = new Map<string, Entry>()
  let loads = 0
  return {
    rows,
    load: (code: string) => {
      loads++
      return rows.get(code)
    },
    get loads() {
      return loads
    },
  }
}

describe('createMemoryLinkCache', () => {
  it('when a code is read twice, loads it once', async () => {
    const source = createSource()
    source.rows.set('abc', { target: 'https://a.example/', version: 1 })
    const cache = createMemoryLinkCache({ load: source.load })

    const first = await cache.get('abc')
    const second = await cache.get('abc')

    expect(first).toEqual({ target: 'https://a.example/', version: 1 })
    expect(second).toEqual(first)
    expect(source.loads).toBe(1)
    expect(cache.stats()).toMatchObject({ mode: 'memory', hits: 1, misses: 1 })
  })

  it('when a code is changed through the cache, the next read sees the new value', async () => {
    const source = createSource()
    source.rows.set('abc', { target: 'https://old.example/', version: 1 })
    const cache = createMemoryLinkCache({ load: source.load })
    await cache.get('abc')

    const changed = await cache.change(
      'abc',
      () => {
        const entry = { target: 'https://new.example/', version: 2 }
        source.rows.set('abc', entry)
        return entry
      },
      (entry) => entry.version
    )

    expect(changed).toEqual({ target: 'https://new.example/', version: 2 })
    expect(await cache.get('abc')).toEqual({ target: 'https://new.example/', version: 2 })
  })

  it('when the LRU is full, evicts the least recently used code', async () => {
    const source = createSource()
    for (const code of ['a', 'b', 'c']) source.rows.set(code, { target: code, version: 1 })
    const cache = createMemoryLinkCache({ load: source.load, maxEntries: 2 })

    for (const code of ['a', 'b', 'a', 'c', 'a', 'b']) await cache.get(code)

    expect(source.loads).toBe(4)
  })
})
