import type { ServedApp } from '@kit/http'
import { launchChromium } from '@kit/testing'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_KEY, buildTestApp, post, serveTestApp, type TestApp } from './helpers.ts'

let t: TestApp
let served: ServedApp
let browser: Browser
beforeAll(async () => {
  t = await buildTestApp()
  served = await serveTestApp(t.app)
  browser = await launchChromium()
})
afterAll(async () => {
  await browser.close()
  await served.shutdown()
  await t.close()
})

describe('GET /dashboard (Bull Board)', () => {
  it('when opened in a browser, loads and shows the queue and its waiting jobs, without write actions', async () => {
    for (let i = 0; i < 3; i++) {
      await t.app.request(
        post('/api/jobs', {
          name: 'email.send',
          data: { to: `user${i}@example.com`, subject: `Welcome ${i}`, body: 'hi' },
        })
      )
    }
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))

    await page.goto(`${served.url}/dashboard/queue/${t.config.QUEUE_NAME}?status=waiting`)
    await page.getByText('user2@example.com').first().waitFor({ timeout: 15_000 })

    expect(await page.getByText(t.config.QUEUE_NAME).count()).toBeGreaterThan(0)
    expect(await page.getByText('Welcome 1').count()).toBeGreaterThan(0)
    const api = await page.evaluate(async (name) => {
      const res = await fetch(`/dashboard/api/queues/${name}/clean/waiting`, { method: 'PUT' })
      return res.status
    }, t.config.QUEUE_NAME)
    expect(api).toBeGreaterThanOrEqual(400)
    expect(await t.service.queue.getJobCountByTypes('wait')).toBe(3)
    expect(errors).toEqual([])
    await page.close()
  })

  it('when the admin dashboard is opened without the key, the browser is challenged; with it, the page loads', async () => {
    const anonymous = await fetch(`${served.url}/admin/dashboard`)
    const context = await browser.newContext({
      httpCredentials: { username: 'ops', password: ADMIN_KEY },
    })
    const page = await context.newPage()

    const res = await page.goto(`${served.url}/admin/dashboard`)
    await page.getByText(t.config.QUEUE_NAME).first().waitFor({ timeout: 15_000 })

    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/)
    expect(res?.status()).toBe(200)
    await context.close()
  })
})
