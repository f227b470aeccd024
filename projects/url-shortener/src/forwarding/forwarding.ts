/** What a request adds below a short link: the raw path after the code and the raw query. */
export type Forwarded = {
  /** '' or '/more/path', percent-encoded as the request sent it. */
  path: string
  /** '' or 'a=1&b=2', without the '?', percent-encoded as the request sent it. */
  query: string
}

function decodedName(pair: string): string {
  const name = pair.split('=', 1)[0] ?? ''
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '))
  } catch {
    return name
  }
}

function isDotSegment(segment: string): boolean {
  const lower = segment.toLowerCase()
  return lower === '.' || lower === '..' || /^(?:\.|%2e){1,2}$/.test(lower)
}

/**
 * The redirect target with the request's path and query appended (Shlink's forwardQuery and
 * append-extra-path, Dub's query forwarding):
 *
 * - the path below the code goes after the target's path (`https://git.example/org/repo.git` +
 *   `/info/refs` → `…/repo.git/info/refs`, what `git clone <short link>` asks for). A `.` or
 *   `..` segment, in any spelling, is refused (undefined): it would climb out of the target's
 *   path, to anywhere on its host;
 * - the query's parameters are added after the target's own, except those the target already
 *   names: the link's owner sets `ref=partner`, a visitor's `?ref=me` does not replace it.
 *
 * The host never changes, and the result is parsed again (`URL.href`), so `Location` is always
 * a valid absolute URL.
 *
 * @example
 * ```ts
 * forwardedTarget('https://git.example/org/repo.git', { path: '/info/refs', query: 'service=git-upload-pack' })
 * // 'https://git.example/org/repo.git/info/refs?service=git-upload-pack'
 * ```
 */
export function forwardedTarget(target: string, { path, query }: Forwarded): string | undefined {
  const url = new URL(target)
  if (path !== '') {
    if (path.split('/').some(isDotSegment)) return undefined
    url.pathname = url.pathname.replace(/\/$/, '') + path
  }
  if (query !== '') {
    const own = new Set(url.searchParams.keys())
    const added = query.split('&').filter((pair) => pair !== '' && !own.has(decodedName(pair)))
    if (added.length > 0) {
      const existing = url.search.slice(1)
      url.search = existing === '' ? added.join('&') : `${existing}&${added.join('&')}`
    }
  }
  return url.href
}
