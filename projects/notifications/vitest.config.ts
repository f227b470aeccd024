// Brings in the `inject('redisUrl')` typing that the global setup declares.
import type {} from '@kit/testing/redis-global-setup'
import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // One redis-server for the run (inject('redisUrl') and REDIS_URL); fault tests start their own.
    globalSetup: ['@kit/testing/redis-global-setup'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'dist/**'],
    sequence: { shuffle: true },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
