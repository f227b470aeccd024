import { defineConfig } from 'drizzle-kit'

// The only place migrations come from: `pnpm --filter @kit/chat db:generate`, then commit
// drizzle/. They are applied by openDatabase() at start and in tests.
export default defineConfig({
  dialect: 'sqlite',
  schema: ['./src/db/schema.ts'],
  out: './drizzle',
})
