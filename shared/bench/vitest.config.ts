import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The end-to-end tests spawn real servers and load them for about a second each; on a loaded
    // 2-core machine starting two tsx servers alone has taken over 20 s.
    testTimeout: 90_000,
    hookTimeout: 90_000,
    sequence: { shuffle: true },
  },
})
