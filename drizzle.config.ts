import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'turso',
  schema: './src/db/schema.ts',
  out: './migrations',
  strict: true,
  dbCredentials: { url: process.env.SLUICE_DB_URL ?? 'file:./data/sluice.db', authToken: process.env.SLUICE_DB_AUTH_TOKEN },
});
