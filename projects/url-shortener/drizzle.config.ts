import { defineConfig } from 'drizzle-kit'

// The only place migrations come from: `pnpm --filter @kit/url-shortener db:generate`, then
// commit drizzle/. They are applied by openDatabase() at start and in tests.
export default defineConfig({
  dialect: 'sqlite',
  schema: ['./src/links/links.schema.ts', './src/analytics/analytics.schema.ts'],
  out: './drizzle',
})
