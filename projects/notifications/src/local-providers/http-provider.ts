import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import { createScriptedLedger, type ProviderScript } from './provider-script.ts'

export type SmsMessage = { to: string; text: string }
export type PushMessage = { token: string; title: string; body: string; data?: unknown }

const smsBody = z.object({ to: z.string().min(3), text: z.string().min(1) })
const pushBody = z.object({
  token: z.string().min(1),
  title: z.string(),
  body: z.string(),
  data: z.unknown().optional(),
})
const scriptBody = z
  .object({
    failureRate: z.number().min(0).max(1),
    timeoutRate: z.number().min(0).max(1),
    timeoutLatencyMs: z.number().int().min(0),
    latencyMs: z.number().int().min(0),
    down: z.boolean(),
    hold: z.boolean(),
  })
  .partial()

/**
 * A local SMS or push provider on a real socket: `POST /messages` ({ to, text }) or `POST /push`
 * ({ token, title, body }), each with an `Idempotency-Key` header it applies at most once. It
 * answers 202 { id }, 503 when scripted to fail (down, or the random share), or late when scripted
 * to time out. `GET /received` lists what it applied; `PUT /script` changes its behaviour.
 *
 * @example
 * ```ts
 * const sms = await startHttpProvider({ kind: 'sms', name: 'sms-primary' })
 * sms.setScript({ failureRate: 0.2 })
 * // … SMS_PROVIDER_URLS=${sms.url}
 * sms.ledger.accepted.size
 * await sms.close()
 * ```
 */
export async function startHttpProvider<K extends 'sms' | 'push'>({
  kind,
  name,
  port = 0,
  host = '127.0.0.1',
  script,
}: {
  kind: K
  name: string
  port?: number
  host?: string
  script?: Partial<ProviderScript>
}) {
  type Message = K extends 'sms' ? SmsMessage : PushMessage
  const scripted = createScriptedLedger<Message>(script)
  const app = new Hono()
  const path = kind === 'sms' ? '/messages' : '/push'
  const schema = kind === 'sms' ? smsBody : pushBody

  app.post(path, async (c) => {
    const key = c.req.header('idempotency-key')
    const parsed = schema.safeParse(await c.req.json().catch(() => undefined))
    if (!key || !parsed.success) {
      return c.json({ error: 'an Idempotency-Key header and a valid body are required' }, 400)
    }
    const verdict = await scripted.handle(key, parsed.data as Message)
    if (verdict === 'fail') return c.json({ error: `${name} unavailable` }, 503)
    return c.json({ id: key, provider: name }, 202)
  })
  app.get('/received', (c) =>
    c.json({
      provider: name,
      calls: scripted.ledger.calls,
      duplicates: scripted.ledger.duplicates,
      accepted: [...scripted.ledger.accepted].map(([key, message]) => ({ key, ...message })),
    })
  )
  app.put('/script', async (c) => {
    const parsed = scriptBody.safeParse(await c.req.json().catch(() => undefined))
    if (!parsed.success) return c.json({ error: 'invalid script' }, 400)
    scripted.setScript(parsed.data)
    return c.json(scripted.script)
  })
  app.get('/healthz', (c) => c.json({ status: 'ok' }))

  const server = await new Promise<ServerType>((resolve, reject) => {
    const created = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(created))
    created.once('error', reject)
  })
  const address = server.address() as AddressInfo
  return {
    name,
    kind,
    url: `http://${host}:${address.port}`,
    ledger: scripted.ledger,
    setScript: (next: Partial<ProviderScript>) => scripted.setScript(next),
    release: () => scripted.release(),
    get heldCalls() {
      return scripted.heldCalls
    },
    close: () =>
      new Promise<void>((resolve) => {
        scripted.release()
        if ('closeAllConnections' in server) server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export type HttpProvider = Awaited<ReturnType<typeof startHttpProvider>>
