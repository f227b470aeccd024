import { z } from '@hono/zod-openapi'
import { createOpenApiApp, problem, problemResponses } from '@kit/http'
import type { Context } from 'hono'
import type { Click } from '../analytics/click-recorder.ts'
import type { LinkCache } from '../link-cache/link-cache.ts'
import { isLive } from '../links/link-store.ts'
import type { LinkStore, RedirectEntry, RedirectStatus } from '../links/link-store.ts'
import { forwardedTarget } from '../forwarding/forwarding.ts'
import type { Forwarded } from '../forwarding/forwarding.ts'
import { PREVIEW_CSP, renderPreviewPage } from './preview-page.ts'

export type RedirectRoutesDeps = {
  cache: Pick<LinkCache<RedirectEntry>, 'get'>
  links: Pick<LinkStore, 'countVisit' | 'get'>
  /** Click analytics; `record` is synchronous and does no I/O. Absent: clicks are not tracked. */
  clicks?: { record(click: Click): void }
  publicBaseUrl: string
  defaultStatus: RedirectStatus
  /** max-age of 301/308 answers, in seconds. */
  permanentMaxAge: number
  now?: () => number
}

/** Redirects answered and codes not found, since start (read by the metrics at scrape time). */
export type RedirectCounters = { redirects: number; notFound: number }

/** Codes are at most 64 characters of [A-Za-z0-9_-]: anything else is not looked up at all. */
const CODE = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Unknown, deleted, expired and used-up codes all get this same answer, so a scan learns nothing
 * about which codes once existed. `no-store`: a 404 is cacheable by default (RFC 9111
 * §4.2.2), and a code that does not exist yet may exist in a minute.
 */
function linkNotFound(c: Context): Response {
  return problem(c, 404, 'not_found', 'No link with this code', {
    headers: { 'cache-control': 'no-store' },
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
 * The public side: `GET /:code` (and `/:code/*` for links that forward their path) redirects,
 * `GET /:code+` previews.
 *
 * The redirect is one cache lookup (in-process LRU, or one Redis GET), one in-memory push of
 * the click, and `c.redirect()`. It goes through the app's whole stack like every other route
 * (request id, secure headers, access log, latency histogram): one code path, the same under
 * `app.request()` and on a socket.
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
  const app = createOpenApiApp()
  const counters: RedirectCounters = { redirects: 0, notFound: 0 }

  async function preview(c: Context, code: string): Promise<Response> {
    const link = CODE.test(code) ? links.get(code) : undefined
    if (!link || !isLive(link, now())) return linkNotFound(c)
    const page = await renderPreviewPage({
      shortUrl: `${publicBaseUrl}/${code}`,
      target: link.target,
    })
    c.header('Content-Security-Policy', PREVIEW_CSP)
    c.header('Cache-Control', 'no-store')
    return c.html(page)
  }

  /** For HEAD on a limited link: visits left, read without using one. */
  function hasVisitsLeft(code: string, at: number): boolean {
    const link = links.get(code)
    return link !== undefined && isLive(link, at)
  }

  /** The raw path below the code and the raw query, as the request sent them. */
  function forwardedPart(url: string, code: string): Forwarded {
    const pathStart = url.indexOf('/', url.indexOf('//') + 2)
    const queryStart = url.indexOf('?', pathStart)
    const path = url.slice(pathStart, queryStart === -1 ? undefined : queryStart)
    return {
      path: path.slice(code.length + 1),
      query: queryStart === -1 ? '' : url.slice(queryStart + 1),
    }
  }

  async function redirect(c: Context, code: string): Promise<Response> {
    const entry = CODE.test(code) ? await cache.get(code) : undefined
    const at = now()
    const forwarded = forwardedPart(c.req.url, code)
    // Rows cached before the forwarding columns existed read as the columns' defaults.
    const forwardPath = entry?.forwardPath === true
    const forwardQuery = entry?.forwardQuery !== false
    const location =
      entry === undefined || (forwarded.path !== '' && !forwardPath)
        ? undefined
        : forwarded.path === '' && (forwarded.query === '' || !forwardQuery)
          ? entry.target
          : forwardedTarget(entry.target, {
              path: forwarded.path,
              query: forwardQuery ? forwarded.query : '',
            })
    // HEAD (link checkers, `curl -I`) answers like GET but is not a visit: it neither uses up a
    // limited link nor counts as a click.
    const visit = c.req.method !== 'HEAD'
    const allowed =
      entry !== undefined &&
      location !== undefined &&
      isLive(entry, at) &&
      (entry.maxVisits === null || (visit ? links.countVisit(entry.id) : hasVisitsLeft(code, at)))
    if (!allowed) {
      counters.notFound++
      return linkNotFound(c)
    }
    if (visit) {
      clicks?.record({
        linkId: entry.id,
        at,
        referrer: c.req.header('referer') ?? null,
        userAgent: c.req.header('user-agent') ?? null,
      })
    }
    counters.redirects++
    const status = entry.redirectStatus ?? defaultStatus
    c.header('Cache-Control', cacheControl(status, entry, at, permanentMaxAge))
    return c.redirect(location, status)
  }

  const code = z.string().openapi({ param: { name: 'code', in: 'path' }, example: 'launch' })
  const redirected = (description: string) => ({
    description,
    headers: z.object({
      Location: z.string().openapi({ description: 'The target, with the forwarded query' }),
      'Cache-Control': z.string().openapi({ example: 'no-store' }),
    }),
  })
  const redirectResponses = {
    301: redirected('Moved permanently (the link asks for 301)'),
    302: redirected('Found: the default (REDIRECT_STATUS)'),
    307: redirected('Temporary, method kept'),
    308: redirected('Permanent, method kept'),
    ...problemResponses(404),
  }

  // The code is checked against CODE by hand, as a lookup key: a zod parse of the path would
  // be the only per-request validation on this route, and the hot path does not need it. The
  // route is described in the document below, with the others.
  app.get('/:code', (c) => {
    const value = c.req.param('code')
    if (value.endsWith('+')) return preview(c, value.slice(0, -1))
    return redirect(c, value)
  })
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/{code}',
    summary: 'Follow a short link',
    description:
      'Redirects to the target, the query string added unless the link has forwardQuery false. ' +
      'Unknown, deleted, expired and used-up codes all answer the same 404. `/{code}+` ' +
      '(the same route) shows the preview page instead.',
    request: { params: z.object({ code }) },
    responses: redirectResponses,
  })
  // The path below a code has slashes of its own, which an OpenAPI path parameter cannot hold:
  // a plain Hono route, described in the document by hand.
  app.get('/:code/*', (c) => redirect(c, c.req.param('code')))
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/{code}/{path}',
    summary: 'Follow a short link that forwards its path',
    description:
      '`path` is everything below the code, slashes included (`/repo/info/refs` for git). ' +
      'Links without forwardPath, and `.` or `..` segments, answer 404.',
    request: {
      params: z.object({
        code,
        path: z.string().openapi({ param: { name: 'path', in: 'path' }, example: 'info/refs' }),
      }),
    },
    responses: redirectResponses,
  })
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/{code}+',
    summary: 'Preview where a short link goes, without going',
    request: { params: z.object({ code }) },
    responses: {
      200: { description: 'An HTML page', content: { 'text/html': { schema: z.string() } } },
      ...problemResponses(404),
    },
  })

  return { routes: app, counters }
}
