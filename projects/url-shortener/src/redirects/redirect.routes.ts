import { errorResponse } from '@kit/http'
import { Hono } from 'hono'
import type { Click } from '../analytics/click-recorder.ts'
import type { CachedLinkStore } from '../links/cached-link-store.ts'
import { isLive } from '../links/link-store.ts'
import type { LinkStore, RedirectEntry, RedirectStatus } from '../links/link-store.ts'
import { PREVIEW_CSP, renderPreviewPage } from './preview-page.ts'

export type RedirectRoutesDeps = {
  cache: Pick<CachedLinkStore<RedirectEntry>, 'get'>
  links: Pick<LinkStore, 'countVisit' | 'get'>
  /** Click analytics; `record` is synchronous and does no I/O. Absent: clicks are not tracked. */
  clicks?: { record(click: Click): void }
  publicBaseUrl: string
  defaultStatus: RedirectStatus
  /** max-age of 301/308 answers, in seconds. */
  permanentMaxAge: number
  now?: () => number
}

/** Codes are at most 64 characters of [A-Za-z0-9_-]: anything else is not looked up at all. */
const CODE = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Unknown, deleted, expired and used-up codes all get this same answer, so a scan learns nothing
 * about which codes once existed (U2). `no-store`: a 404 is cacheable by default (RFC 9111
 * §4.2.2), and a code that does not exist yet may exist in a minute.
 */
function linkNotFound(): Response {
  return errorResponse(404, 'not_found', 'No link with this code', {
    headers: { 'Cache-Control': 'no-store' },
  })
}

/**
 * How long a browser or CDN may reuse the redirect without asking again.
 *
 * - 302/307 (the default): `no-store`. Every click reaches the service, so it is counted, and an
 *   edit or delete takes effect on the next click.
 * - 301/308: `public, max-age=N` (Shlink's REDIRECT_CACHE_LIFETIME). Repeat clicks from a browser
 *   are served from its cache: faster, but not counted, and an edit reaches that browser only after
 *   N seconds. Capped by the link's expiry, and never for links with a visit limit, whose every
 *   visit must be counted.
 */
function cacheControl(
  status: RedirectStatus,
  entry: RedirectEntry,
  now: number,
  maxAge: number
): string {
  if ((status !== 301 && status !== 308) || entry.maxVisits !== null) return 'no-store'
  const untilExpiry = entry.expiresAt === null ? maxAge : Math.floor((entry.expiresAt - now) / 1000)
  return `public, max-age=${Math.max(0, Math.min(maxAge, untilExpiry))}`
}

/**
 * The public side: `GET /:code` redirects, `GET /:code+` previews.
 *
 * The redirect's hot path is one cache lookup (in-process LRU, or one Redis GET), one in-memory
 * push of the click, and the response. The only write on it is the conditional visit count of
 * links that have a visit limit.
 */
export function createRedirectRoutes({
  cache,
  links,
  clicks,
  publicBaseUrl,
  defaultStatus,
  permanentMaxAge,
  now = Date.now,
}: RedirectRoutesDeps) {
  const app = new Hono()

  async function preview(code: string): Promise<Response> {
    const link = CODE.test(code) ? links.get(code) : undefined
    if (!link || !isLive(link, now())) return linkNotFound()
    const page = await renderPreviewPage({
      shortUrl: `${publicBaseUrl}/${code}`,
      target: link.target,
    })
    return new Response(String(page), {
      headers: {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': PREVIEW_CSP,
        'Cache-Control': 'no-store',
      },
    })
  }

  app.get('/:code', async (c) => {
    const code = c.req.param('code')
    if (code.endsWith('+')) return preview(code.slice(0, -1))
    if (!CODE.test(code)) return linkNotFound()
    const entry = await cache.get(code)
    const at = now()
    if (!entry || !isLive(entry, at)) return linkNotFound()
    if (entry.maxVisits !== null && !links.countVisit(entry.id)) return linkNotFound()
    clicks?.record({
      linkId: entry.id,
      at,
      referrer: c.req.header('referer') ?? null,
      userAgent: c.req.header('user-agent') ?? null,
    })
    const status = entry.redirectStatus ?? defaultStatus
    c.header('Cache-Control', cacheControl(status, entry, at, permanentMaxAge))
    return c.redirect(entry.target, status)
  })

  return app
}
