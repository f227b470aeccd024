import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // The package tests its own global setup the way every other package uses it.
    globalSetup: ['./src/redis-global-setup.ts'],
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
})
