/**
 * Renders the README's screenshot of the browser client: the embedded service on a free port,
 * two people in a room, a direct conversation, a message from a program. Run with
 * `pnpm --filter @kit/chat screenshot`; writes docs/screenshot.png.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLogger, serveApp } from '@kit/http'
import { freePort, launchChromium } from '@kit/testing'
import type { Page } from 'playwright-core'
import { loadConfig } from '../src/config.ts'
import { createChatService } from '../src/service.ts'

const out = fileURLToPath(new URL('../docs/screenshot.png', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'chat-screenshot-'))
const port = await freePort()
const logger = createLogger({ level: 'silent' })
const chat = await createChatService(
  loadConfig({ PORT: String(port), DB_FILE: join(dir, 'chat.db') }),
  { logger }
)
const served = await serveApp(chat.app, {
  port,
  hostname: '127.0.0.1',
  logger,
  handleSignals: false,
  websocket: { server: chat.wss },
  onShutdown: () => chat.close(),
})
const browser = await launchChromium()

async function signIn(user: string): Promise<Page> {
  const page = await (
    await browser.newContext({ viewport: { width: 1000, height: 560 } })
  ).newPage()
  await page.goto(served.url)
  await page.fill('#user', user)
  await page.press('#user', 'Enter')
  await page.waitForFunction(
    (name) => document.querySelector('#status')?.textContent === `online as ${name}`,
    user
  )
  return page
}
const say = async (page: Page, text: string) => {
  await page.fill('#text', text)
  await page.press('#text', 'Enter')
  await page.waitForFunction(
    (t) =>
      [...document.querySelectorAll('.msg:not(.pending) .body')].some((n) => n.textContent === t),
    text
  )
}

try {
  const ada = await signIn('ada')
  const grace = await signIn('grace')
  await ada.fill('#new-room', 'design review')
  await ada.press('#new-room', 'Enter')
  await ada.waitForFunction(
    () => (window as unknown as { chat: { joined: Set<string> } }).chat.joined.size === 1
  )
  const room = await ada.evaluate(
    () => (window as unknown as { chat: { current: string } }).chat.current
  )
  await grace.fill('#room-id', room)
  await grace.press('#room-id', 'Enter')
  await grace.waitForFunction(
    () => (window as unknown as { chat: { joined: Set<string> } }).chat.joined.size === 1
  )
  await grace.fill('#dm-user', 'ada')
  await grace.press('#dm-user', 'Enter')
  await grace.waitForFunction(
    () => (window as unknown as { chat: { joined: Set<string> } }).chat.joined.size === 2
  )
  await say(grace, 'Ping me when the fan-out numbers are in.')
  await grace.click(`#rooms li[data-room="${room}"]`)
  // A reload lists the conversation grace opened, with its unread count (offline catch-up).
  await ada.reload()
  await ada.waitForFunction(
    () => document.querySelector('#status')?.textContent === 'online as ada'
  )
  await say(ada, 'Frames are prepared once per broadcast now.')
  await say(grace, 'Nice. What happens when a client stops reading?')
  await say(ada, 'Past 1 MiB queued it is skipped and told to resync from its last seq.')
  await say(grace, 'And if an instance dies?')
  await say(ada, 'Clients reconnect to another one and resume: nothing lost, nothing twice.')
  // Typing indicators are throttled (2 s on the client and the server): let the last one pass.
  await new Promise((resolve) => setTimeout(resolve, 2100))
  await grace.fill('#text', 'Ship')
  await grace.press('#text', 'a')
  await ada.waitForFunction(() =>
    document.querySelector('#typing')?.textContent?.includes('typing')
  )
  await ada.screenshot({ path: out })
  process.stdout.write(`wrote ${out}\n`)
} finally {
  await browser.close()
  await chat.drain()
  await served.shutdown()
  rmSync(dir, { recursive: true, force: true })
}
