/** Custom aliases: 3 to 64 URL-safe characters, case-sensitive. */
export const ALIAS_PATTERN = /^[A-Za-z0-9_-]{3,64}$/

/**
 * Words no code may take, in any case: the service's own paths and the ones people expect to find
 * on a web site (Kutt's preservedURLs, Dub's reserved keys). A generated code equal to one of
 * them is regenerated, so `/healthz` can never be shadowed by a link.
 */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  'about',
  'admin',
  'api',
  'app',
  'assets',
  'auth',
  'dashboard',
  'docs',
  'favicon',
  'health',
  'healthz',
  'help',
  'livez',
  'login',
  'logout',
  'metrics',
  'oauth',
  'preview',
  'qr',
  'ready',
  'readyz',
  'register',
  'robots',
  'settings',
  'signup',
  'sitemap',
  'static',
  'stats',
  'status',
  'www',
])

/** True when `code` is a reserved word, compared case-insensitively (`ADMIN`, `Admin`). */
export function isReserved(code: string): boolean {
  return RESERVED_WORDS.has(code.toLowerCase())
}

/** Why `alias` cannot be used, or null when it can (uniqueness is the database's job). */
export function aliasProblem(alias: string): string | null {
  if (!ALIAS_PATTERN.test(alias)) {
    return 'must be 3 to 64 characters of letters, digits, "_" or "-"'
  }
  if (isReserved(alias)) return 'is a reserved word'
  return null
}
