import { createLogger, serveApp } from '@kit/http'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, createLink } from './helpers.ts'
import type { TestApp } from './helpers.ts'

describe('GET /:code+ in a headless browser', () => {
  let instance: TestApp
  let server: Awaited<ReturnType<typeof serveApp>>
  let browser: Browser

  beforeAll(async () => {
    instance = buildTestApp()
    server = await serveApp(instance.app, {
      port: 0,
      hostname: '127.0.0.1',
      logger: createLogger({ level: 'silent' }),
      handleSignals: false,
      onShutdown: () => instance.close(),
    })
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
  }, 30_000)
  afterAll(async () => {
    await browser?.close()
    await server?.shutdown('test done')
  })

  it('when the preview opens, it shows the target as text, links to it, and stays on the page', async () => {
    const target = 'https://example.com/path?q=<b>bold</b>&x="quoted"'
    const { code, target: stored } = await createLink(instance.app, { url: target })
    const page = await browser.newPage()
    const dialogs: string[] = []
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })

    const response = await page.goto(`${server.url}/${code}+`)
    const shown = await page.locator('#target').textContent()
    const href = await page.locator('#go').getAttribute('href')
    const boldElements = await page.locator('#target b').count()

    expect(response?.status()).toBe(200)
    expect(page.url()).toBe(`${server.url}/${code}+`)
    expect(shown).toBe(stored)
    expect(href).toBe(stored)
    expect(new URL(href as string).searchParams.get('q')).toBe('<b>bold</b>')
    expect(boldElements).toBe(0)
    expect(dialogs).toEqual([])
    await page.close()
  })
})
