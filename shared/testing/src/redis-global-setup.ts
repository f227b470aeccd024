import type { TestProject } from 'vitest/node'
// Loads vitest's own types so that the augmentation below merges into them.
import type {} from 'vitest'
import { startRedisServer } from './redis-server.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the redis-server started once for the whole test run. */
    redisUrl: string
  }
}

/**
 * Vitest globalSetup: starts ONE redis-server for the run and gives its URL to every test, both
 * as `inject('redisUrl')` and as `process.env.REDIS_URL` (set before the test workers start, so
 * they inherit it). Pattern folders read `process.env.REDIS_URL` only, so their tests run the
 * same once copied into a project without the kit. Tests share the server, so each file
 * isolates by `uniqueName()` key prefix.
 * Fault tests that stop or kill Redis start their own server with `startRedisServer()`.
 *
 * @example
 * ```ts
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ['@kit/testing/redis-global-setup'] } })
 * // a test
 * const redis = new Redis(inject('redisUrl'))
 * ```
 */
export default async function setup(project: TestProject) {
  const server = await startRedisServer()
  project.provide('redisUrl', server.url)
  const previous = process.env.REDIS_URL
  process.env.REDIS_URL = server.url
  return async function teardown() {
    if (previous === undefined) delete process.env.REDIS_URL
    else process.env.REDIS_URL = previous
    await server.stop()
  }
}
