// Brings in the `inject('redisUrl')` typing that the global setup declares.
import type {} from '@kit/testing/redis-global-setup'
import type {} from '@kit/testing/redis-cluster-global-setup'
import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // One redis-server for the run (inject('redisUrl') and process.env.REDIS_URL); fault tests
    // start their own, which they kill and restart.
    // The producer, worker and fault tests run on a Redis Cluster too (three masters).
    globalSetup: ['@kit/testing/redis-global-setup', '@kit/testing/redis-cluster-global-setup'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'benchmarks/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'dist/**'],
    sequence: { shuffle: true },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
