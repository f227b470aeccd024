import { launchChromium } from '@kit/testing'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addSubscriber, startStack, trigger, type Stack } from './helpers.ts'

// The delivery log's page, in real headless Chromium: one event's fan-out as a timeline.
let stack: Stack
let browser: Browser

beforeAll(async () => {
  stack = await startStack()
  await stack.startWorkers()
  browser = await launchChromium()
}, 60_000)

afterAll(async () => {
  await browser.close()
  await stack.close()
})

describe('GET /events/:id', () => {
  it('when opened, shows a row per delivery that turns sent, with a failover step where the primary failed', async () => {
    await addSubscriber(stack, 'page-a', { preferences: { channels: { push: false } } })
    stack.providers.sms[0]!.setScript({ down: true })
    const { body } = await trigger(stack, {
      type: 'order.shipped',
      recipients: ['page-a'],
      data: { orderId: 7 },
    })
    const page = await browser.newPage()

    await page.goto(`${stack.url}/events/${body.id}`)
    await page.waitForSelector('body[data-settled="true"]', { timeout: 20_000 })
    const rows = await Promise.all(
      (await page.locator('tbody tr').all()).map(async (tr) => ({
        channel: await tr.getAttribute('data-channel'),
        status: await tr.getAttribute('data-status'),
        steps: await tr.locator('.step').allTextContents(),
        provider: await tr.locator('td').nth(5).textContent(),
      }))
    )
    const title = await page.textContent('#event-id')
    stack.providers.sms[0]!.setScript({ down: false })
    await page.close()

    expect(title).toBe(body.id)
    expect(Object.fromEntries(rows.map((r) => [r.channel, r.status]))).toEqual({
      email: 'sent',
      in_app: 'sent',
      push: 'suppressed',
      sms: 'sent',
      webhook: 'sent',
    })
    const sms = rows.find((r) => r.channel === 'sms')!
    expect(sms.provider).toBe('sms-backup-1')
    expect(sms.steps.some((s) => s.includes('provider_failed'))).toBe(true)
    expect(sms.steps.at(-1)).toMatch(/^\+\d+ ms sent$/)
    expect(rows.find((r) => r.channel === 'push')!.steps.join(' ')).toContain('preference')
  })

  it('when the event does not exist, answers 404 problem details', async () => {
    const res = await stack.request('/events/evt_missing')

    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })
})
