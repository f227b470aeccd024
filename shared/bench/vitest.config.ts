import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The end-to-end tests spawn real servers and load them for about a second each.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
