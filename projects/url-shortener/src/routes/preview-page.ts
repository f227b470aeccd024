import { html } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'

/**
 * The preview page's Content-Security-Policy: no script at all, inline style only, no forms, not
 * framable. The page is static HTML; nothing on it needs more.
 */
export const PREVIEW_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export type PreviewPageInput = { shortUrl: string; target: string }

/**
 * The page at `/<code>+`: shows where a short link goes before going there (OWASP unvalidated
 * redirects: "a page notifying users that they are going off of your site, with the destination
 * clearly displayed"). No automatic redirect; the reader follows the link or not.
 *
 * Every interpolation goes through hono/html's escaping (`& < > " '`), in text and in the `href`
 * attribute alike, so a target can never break out into markup.
 */
export function renderPreviewPage({
  shortUrl,
  target,
}: PreviewPageInput): HtmlEscapedString | Promise<HtmlEscapedString> {
  const host = new URL(target).host
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <title>Where ${shortUrl} goes</title>
        <style>
          body {
            font:
              16px/1.5 system-ui,
              sans-serif;
            max-width: 40rem;
            margin: 4rem auto;
            padding: 0 1rem;
          }
          .target {
            font-family: ui-monospace, monospace;
            overflow-wrap: anywhere;
            background: #f4f4f5;
            padding: 0.75rem;
            border-radius: 0.5rem;
          }
          a.go {
            display: inline-block;
            margin-top: 1rem;
          }
        </style>
      </head>
      <body>
        <main>
          <h1>This short link goes to ${host}</h1>
          <p><code>${shortUrl}</code> redirects to:</p>
          <p class="target" id="target">${target}</p>
          <p>Check the address before you continue.</p>
          <a class="go" id="go" href="${target}" rel="noopener noreferrer nofollow"
            >Continue to ${host}</a
          >
        </main>
      </body>
    </html> `
}
