// Brings in the `inject('redisUrl')` typing that the global setup declares.
import type {} from '@kit/testing/redis-global-setup'
import { defineConfig } from 'vitest/config'

/** Runs a CPU burner on every core: alone, after the rest, so no other test meets the burners. */
const UNDER_LOAD = 'test/limiter-under-load.test.ts'

export default defineConfig({
  test: {
    // One redis-server for the run (inject('redisUrl') and process.env.REDIS_URL); fault tests
    // start their own.
    globalSetup: ['@kit/testing/redis-global-setup'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Every test creates its own data: files and tests run in a random order.
    sequence: { shuffle: true },
    projects: [
      {
        extends: true,
        test: { name: 'rate-limiter', exclude: [UNDER_LOAD, '**/node_modules/**'] },
      },
      {
        extends: true,
        test: { name: 'under-load', include: [UNDER_LOAD], sequence: { groupOrder: 1 } },
      },
    ],
  },
})
