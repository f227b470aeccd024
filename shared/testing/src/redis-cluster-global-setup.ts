import type { TestProject } from 'vitest/node'
// Loads vitest's own types so that the augmentation below merges into them.
import type {} from 'vitest'
import { startRedisCluster } from './redis-cluster.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * Seed nodes of the Redis Cluster started once for the whole test run, comma-separated:
     * 'redis://127.0.0.1:p1,redis://127.0.0.1:p2,redis://127.0.0.1:p3' (also REDIS_CLUSTER_URLS).
     */
    redisClusterUrls: string
  }
}

/**
 * Vitest globalSetup: starts ONE Redis Cluster for the run (three masters, no replicas) and
 * gives its seed nodes to every test, as `inject('redisClusterUrls')` and as the environment
 * variable `REDIS_CLUSTER_URLS` (comma-separated `redis://127.0.0.1:<port>`), the same way
 * `redis-global-setup` gives `redisUrl` / `REDIS_URL`. Tests share it, so each file isolates by
 * `uniqueName()` key prefix; fault tests that kill a node start their own `startRedisCluster()`.
 *
 * @example
 * ```ts
 * // vitest.config.ts
 * export default defineConfig({
 *   test: { globalSetup: ['@kit/testing/redis-global-setup', '@kit/testing/redis-cluster-global-setup'] },
 * })
 * // a test
 * const client = await connectCluster(inject('redisClusterUrls'))
 * // a pattern folder's test (no @kit/* import): ioredis takes the URLs as seed nodes
 * const client = new Cluster(process.env.REDIS_CLUSTER_URLS!.split(','))
 * ```
 */
export default async function setup(project: TestProject) {
  const cluster = await startRedisCluster()
  project.provide('redisClusterUrls', cluster.urls)
  // Test workers start after global setup and inherit this process's environment.
  const previous = process.env.REDIS_CLUSTER_URLS
  process.env.REDIS_CLUSTER_URLS = cluster.urls
  return async function teardown() {
    if (previous === undefined) delete process.env.REDIS_CLUSTER_URLS
    else process.env.REDIS_CLUSTER_URLS = previous
    await cluster.stop()
  }
}
