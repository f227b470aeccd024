// Brings in the `inject('redisUrl')` typing that the global setup declares.
import type {} from '@kit/testing/redis-global-setup'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // One redis-server for the run (inject('redisUrl')); fault tests start their own.
    globalSetup: ['@kit/testing/redis-global-setup'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
