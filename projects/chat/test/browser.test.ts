import { freePort, launchChromium } from '@kit/testing'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRoom, range, startChat, tokenFor, type RunningChat } from './helpers.ts'
import { TestClient } from './ws-client.ts'

let server: RunningChat
let browser: Browser
beforeAll(async () => {
  const port = await freePort()
  server = await startChat({ PORT: String(port), ALLOWED_ORIGINS: `http://127.0.0.1:${port}` })
  browser = await launchChromium()
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

/** A fresh browser profile (its own localStorage) signed in as `user`. */
async function signIn(user: string): Promise<Page> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(server.url)
  await page.fill('#user', user)
  await page.press('#user', 'Enter')
  await page.waitForFunction(
    (name) => document.querySelector('#status')?.textContent === `online as ${name}`,
    user
  )
  return page
}

const bodies = (page: Page) =>
  page.$$eval('#messages .msg .body', (nodes) => nodes.map((n) => n.textContent))

describe('the browser client (GET /)', () => {
  it('when two people chat, each page shows both messages, who is online, and the history on demand', async () => {
    const ada = await signIn('ada')
    const bob = await signIn('bob')
    await ada.fill('#new-room', 'general')
    await ada.press('#new-room', 'Enter')
    await ada.waitForFunction(
      () => (window as unknown as { chat: { joined: Set<string> } }).chat.joined.size === 1
    )
    const room = await ada.evaluate(
      () => (window as unknown as { chat: { current: string } }).chat.current
    )
    // Someone talked before bob arrived: history he can page back to.
    const carolToken = await tokenFor(server.url, 'carol')
    // A program, not a browser: no Origin (allowed by default, still with a token).
    const carol = await TestClient.connect(server.wsUrl, carolToken, { origin: null })
    await carol.join(room)
    for (const i of range(1, 5)) await carol.say(room, `earlier ${i}`)

    await bob.fill('#room-id', room)
    await bob.press('#room-id', 'Enter')
    await bob.waitForSelector('#older')
    await bob.click('#older')
    await bob.waitForFunction(() => document.querySelectorAll('#messages .msg').length === 5)
    await ada.fill('#text', 'hello bob')
    await ada.press('#text', 'Enter')
    await bob.waitForFunction(() =>
      [...document.querySelectorAll('#messages .body')].some((n) => n.textContent === 'hello bob')
    )
    await bob.fill('#text', 'hi ada')
    await bob.press('#text', 'Enter')
    await ada.waitForFunction(() =>
      [...document.querySelectorAll('#messages .body')].some((n) => n.textContent === 'hi ada')
    )

    expect(await bodies(bob)).toEqual([
      ...range(1, 5).map((i) => `earlier ${i}`),
      'hello bob',
      'hi ada',
    ])
    expect(await bodies(ada)).toEqual([
      ...range(1, 5).map((i) => `earlier ${i}`),
      'hello bob',
      'hi ada',
    ])
    await ada.waitForFunction(() =>
      /bob/.test(document.querySelector('#online')?.textContent ?? '')
    )
    expect(await ada.textContent('#online')).toBe('online: ada, bob, carol')
    carol.close()
  })

  it('when the server closes every socket, the pages reconnect by themselves and show what was sent meanwhile, once', async () => {
    const dee = await signIn('dee')
    const eve = await signIn('eve')
    const token = await tokenFor(server.url, 'dee')
    const room = await createRoom(server.url, token, 'reconnect')
    for (const page of [dee, eve]) {
      await page.fill('#room-id', room)
      await page.press('#room-id', 'Enter')
      await page.waitForFunction(
        () => (window as unknown as { chat: { joined: Set<string> } }).chat.joined.size > 0
      )
    }

    await server.chat.gateway.closeAll(1001, 'restarting')
    const fred = await TestClient.connect(server.wsUrl, await tokenFor(server.url, 'fred'), {
      origin: null,
    })
    await fred.join(room)
    await fred.say(room, 'sent while you were away')
    for (const page of [dee, eve]) {
      await page.waitForFunction(() =>
        document.querySelector('#status')?.textContent?.startsWith('online as')
      )
      await page.waitForFunction(() =>
        [...document.querySelectorAll('#messages .body')].some(
          (n) => n.textContent === 'sent while you were away'
        )
      )
    }
    await fred.say(room, 'and after')
    for (const page of [dee, eve]) {
      await page.waitForFunction(() =>
        [...document.querySelectorAll('#messages .body')].some((n) => n.textContent === 'and after')
      )
    }

    for (const page of [dee, eve]) {
      expect(await bodies(page)).toEqual(['sent while you were away', 'and after'])
    }
    fred.close()
  })
})
