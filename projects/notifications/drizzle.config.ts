import { defineConfig } from 'drizzle-kit'

// The only place migrations come from: `pnpm --filter @kit/notifications db:generate`, then
// commit drizzle/. They are applied by openDatabase() at start, in workers and in tests.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/schema.ts',
  out: './drizzle',
})
