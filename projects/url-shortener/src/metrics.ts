import { Counter, Gauge } from 'prom-client'
import type { Registry } from 'prom-client'
import type { CacheStats } from './link-cache/link-cache.ts'
import type { RedirectCounters } from './routes/redirect.routes.ts'

export type ShortenerMetricsSources = {
  cacheStats: () => CacheStats
  pendingClicks?: () => number
  collisionRetries: () => number
  redirects: () => RedirectCounters
}

/**
 * The shortener's own metrics, read at scrape time from the components' counts (no work on the
 * request path) and registered next to the kit's request metrics. Counts that only grow are
 * Prometheus counters named `_total`, so `rate()` and `increase()` apply and a restart reads
 * as a counter reset; states are gauges.
 */
export function registerShortenerMetrics(
  registry: Registry,
  { cacheStats, pendingClicks, collisionRetries, redirects }: ShortenerMetricsSources
): void {
  const counter = (name: string, help: string, read: () => number) => {
    let reported = 0
    return new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        // The component counts since start; the counter moves up by what is new.
        const now = read()
        this.inc(now - reported)
        reported = now
      },
    })
  }
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read())
      },
    })
  counter('url_shortener_cache_hits_total', 'Link cache hits', () => cacheStats().hits)
  counter(
    'url_shortener_cache_misses_total',
    'Link cache misses (database reads)',
    () => cacheStats().misses
  )
  counter(
    'url_shortener_cache_errors_total',
    'Redis cache commands that failed',
    () => cacheStats().errors
  )
  gauge('url_shortener_cache_degraded', '1 while Redis fails and reads bypass the cache', () =>
    cacheStats().degraded ? 1 : 0
  )
  counter(
    'url_shortener_code_collision_retries_total',
    'Generated codes drawn again after a collision',
    collisionRetries
  )
  counter('url_shortener_redirects_total', 'Redirects answered', () => redirects().redirects)
  counter(
    'url_shortener_redirect_not_found_total',
    'GET /:code answered 404 (unknown, deleted, expired, used up)',
    () => redirects().notFound
  )
  if (pendingClicks) {
    gauge('url_shortener_clicks_pending', 'Clicks buffered, not yet written', pendingClicks)
  }
}
