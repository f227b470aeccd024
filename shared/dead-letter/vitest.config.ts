// Brings in the `inject('redisUrl')` typing that the global setup declares.
import type {} from '@kit/testing/redis-global-setup'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // One redis-server for the run; the pattern's tests read process.env.REDIS_URL only, so they
    // run the same once src/ is copied into a project without the kit.
    globalSetup: ['@kit/testing/redis-global-setup'],
    include: ['src/**/*.test.ts'],
    sequence: { shuffle: true },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
