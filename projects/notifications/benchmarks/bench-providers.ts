/**
 * The benchmark's providers, in a process of their own (so their CPU is neither the service's
 * nor the generator's): the SMTP sink, one SMS and one push provider, and a webhook receiver that
 * answers 204. Prints their URLs as one JSON line, runs until SIGTERM.
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import type { AddressInfo } from 'node:net'
import { startHttpProvider } from '../src/local-providers/http-provider.ts'
import { startSmtpSink } from '../src/local-providers/smtp-sink.ts'

const smtp = await startSmtpSink({ name: 'bench-smtp' })
const sms = await startHttpProvider({ kind: 'sms', name: 'bench-sms' })
const push = await startHttpProvider({ kind: 'push', name: 'bench-push' })
const hooks = new Hono()
hooks.post('/hooks/:id', async (c) => {
  await c.req.arrayBuffer()
  return c.body(null, 204)
})
const receiver = serve({ fetch: hooks.fetch, port: 0, hostname: '127.0.0.1' })
await new Promise((resolve) => receiver.once('listening', resolve))
const webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`

process.stdout.write(
  `${JSON.stringify({ smtp: smtp.url, sms: sms.url, push: push.url, webhook })}\n`
)
process.once('SIGTERM', () => {
  void Promise.all([smtp.close(), sms.close(), push.close()]).then(() => process.exit(0))
})
