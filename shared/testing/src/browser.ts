import { chromium, type Browser } from 'playwright-core'

/**
 * Debian's Chromium, headless, for page tests. The flags keep it from reaching for the network
 * on its own (component updates, sync, first-run pages): on a machine whose only network is a
 * package registry those connections fail, many at a time.
 *
 * @example
 * ```ts
 * const browser = await launchChromium()
 * const page = await browser.newPage()
 * await page.goto(`${served.url}/docs`)
 * await browser.close()
 * ```
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}
