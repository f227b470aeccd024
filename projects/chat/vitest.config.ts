// Brings in the `inject('redisUrl')` typing that the global setup declares.
import type {} from '@kit/testing/redis-global-setup'
import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // One redis-server for the run (REDIS_URL, inject('redisUrl')); fault tests start their own.
    globalSetup: ['@kit/testing/redis-global-setup'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'benchmarks/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'dist/**'],
    sequence: { shuffle: true },
    // Memory tests compare RSS after a full collection (global gc()).
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
