import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` turns src/db/schema.ts changes into SQL under migrations/; review and
// commit them with the schema change. Never edit a merged migration.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
  casing: 'snake_case',
});
