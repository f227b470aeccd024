import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // The package tests its own global setups the way every other package uses them.
    globalSetup: ['./src/redis-global-setup.ts', './src/redis-cluster-global-setup.ts'],
    testTimeout: 15_000,
    hookTimeout: 15_000,
    sequence: { shuffle: true },
  },
})
