// Brings in the `inject('redisUrl')` typing that the global setup declares.
import type {} from '@kit/testing/redis-global-setup'
import { defineConfig } from 'vitest/config'

// Repository-level checks (docker-compose.yml, README commands, licences, pattern folders that
// copy out whole); each package runs its own tests. The redis-server is for the copied patterns'
// tests, which read process.env.REDIS_URL.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['@kit/testing/redis-global-setup'],
    sequence: { shuffle: true },
    testTimeout: 20_000,
  },
})
