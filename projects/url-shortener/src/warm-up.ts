import type { LinkCache } from './link-cache/link-cache.ts'
import { isLive, redirectEntryOf } from './links/link-store.ts'
import type { LinkStore, RedirectEntry } from './links/link-store.ts'

export type WarmUpOptions = {
  cache: Pick<LinkCache<RedirectEntry>, 'warm'>
  links: Pick<LinkStore, 'getById'>
  /** Ids of the most-clicked links, most clicked first (analytics' `topLinks`). */
  topLinkIds: number[]
  now?: () => number
}

/**
 * Loads the most-clicked live links into the cache, so the first minutes after a deploy or a
 * restart are served from the cache rather than all from SQLite. Resolves with how many were
 * stored.
 */
export async function warmUpCache({
  cache,
  links,
  topLinkIds,
  now = Date.now,
}: WarmUpOptions): Promise<number> {
  const at = now()
  const entries: [string, RedirectEntry][] = []
  for (const id of topLinkIds) {
    const link = links.getById(id)
    if (link && isLive(link, at)) entries.push([link.code, redirectEntryOf(link)])
  }
  return cache.warm(entries)
}
