import { Gauge } from 'prom-client'
import type { Registry } from 'prom-client'
import type { CacheStats } from './link-cache/link-cache.ts'
import type { RedirectCounters } from './redirects/redirect.routes.ts'

export type ShortenerMetricsSources = {
  cacheStats: () => CacheStats
  pendingClicks?: () => number
  collisionRetries: () => number
  redirects: () => RedirectCounters
}

/**
 * The shortener's own gauges, read at scrape time from the components' counters (no work on the
 * request path). Registered next to the kit's request metrics in one registry.
 */
export function registerShortenerMetrics(
  registry: Registry,
  { cacheStats, pendingClicks, collisionRetries, redirects }: ShortenerMetricsSources
): void {
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read())
      },
    })
  gauge('url_shortener_cache_hits', 'Link cache hits since start', () => cacheStats().hits)
  gauge(
    'url_shortener_cache_misses',
    'Link cache misses (database reads) since start',
    () => cacheStats().misses
  )
  gauge(
    'url_shortener_cache_errors',
    'Redis cache commands that failed since start',
    () => cacheStats().errors
  )
  gauge('url_shortener_cache_degraded', '1 while Redis fails and reads bypass the cache', () =>
    cacheStats().degraded ? 1 : 0
  )
  gauge(
    'url_shortener_code_collision_retries',
    'Generated codes drawn again after a collision',
    collisionRetries
  )
  gauge('url_shortener_redirects', 'Redirects answered since start', () => redirects().redirects)
  gauge(
    'url_shortener_redirect_not_found',
    'GET /:code answered 404 (unknown, deleted, expired, used up) since start',
    () => redirects().notFound
  )
  if (pendingClicks) {
    gauge('url_shortener_clicks_pending', 'Clicks buffered, not yet written', pendingClicks)
  }
}
