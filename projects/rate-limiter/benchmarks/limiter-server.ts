/**
 * The benchmark's target process: reads the environment (server-env.ts), builds the app
 * (limiter-app.ts) and serves it on 127.0.0.1:PORT until SIGTERM. run.ts spawns it, bundled,
 * once per target.
 */
import { serve } from '@hono/node-server'
import { z } from 'zod'
import { createLimiterApp } from './limiter-app.ts'
import { serverEnvSchema } from './server-env.ts'

const parsed = serverEnvSchema.safeParse(process.env)
if (!parsed.success) {
  process.stderr.write(`limiter-server: invalid environment\n${z.prettifyError(parsed.error)}\n`)
  process.exit(1)
}
const server = await createLimiterApp(parsed.data)
const http = serve({ fetch: server.app.fetch, port: parsed.data.PORT, hostname: '127.0.0.1' })
const shutdown = () => http.close(() => void server.close().then(() => process.exit(0)))
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)
