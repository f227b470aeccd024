import { defineConfig } from 'vitest/config'

// Repository-level checks only (docker-compose.yml, README commands); each package runs its own.
export default defineConfig({ test: { include: ['test/**/*.test.ts'] } })
