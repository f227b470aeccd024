// Brings in the `inject('redisUrl')` typing that the global setup declares.
import type {} from '@kit/testing/redis-global-setup'
import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['@kit/testing/redis-global-setup'],
    // Build output (dist/) may hold copies of sources; only src/ and test/ are tests.
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'dist/**'],
    // Every test creates its own data: the suite passes in any order, and runs shuffled.
    sequence: { shuffle: true },
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
