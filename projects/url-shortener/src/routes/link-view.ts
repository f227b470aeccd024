import type { Link, RedirectStatus } from '../links/link-store.ts'

/** A link as the API shows it: ISO 8601 times, the full short URL. */
export type LinkView = {
  code: string
  shortUrl: string
  target: string
  /** null: the service default (REDIRECT_STATUS) applies. */
  redirectType: RedirectStatus | null
  expiresAt: string | null
  maxVisits: number | null
  /** Counted only for links with maxVisits. */
  visits: number
  /** The short URL's query string is appended to the target's. */
  forwardQuery: boolean
  /** The path below the code is appended to the target's path. */
  forwardPath: boolean
  createdAt: string
  updatedAt: string
}

export function toLinkView(link: Link, publicBaseUrl: string): LinkView {
  return {
    code: link.code,
    shortUrl: `${publicBaseUrl}/${link.code}`,
    target: link.target,
    redirectType: link.redirectStatus,
    expiresAt: link.expiresAt === null ? null : new Date(link.expiresAt).toISOString(),
    maxVisits: link.maxVisits,
    visits: link.visits,
    forwardQuery: link.forwardQuery,
    forwardPath: link.forwardPath,
    createdAt: new Date(link.createdAt).toISOString(),
    updatedAt: new Date(link.updatedAt).toISOString(),
  }
}
