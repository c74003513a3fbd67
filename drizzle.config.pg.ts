import { defineConfig } from 'drizzle-kit';

/** The PostgreSQL migrations, generated from db/schema-pg.ts (itself derived from db/schema.ts): `npm run db:generate`. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema-pg.ts',
  out: './db/migrations-pg',
});
