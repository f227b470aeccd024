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
    // expect.poll waits for what must arrive (frames, closes, resyncs); on a loaded machine that
    // can take more than the default second. The values waited for stay exact. (The pattern
    // folders' tests pass the same timeout themselves: a copier's project has no such config.)
    expect: { poll: { timeout: 10_000 } },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
