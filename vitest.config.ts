import { defineConfig, type ViteUserConfig } from 'vitest/config';
import { POSTGRES_SUITE } from './test/postgres-suite.ts';
import { testPg } from './test/pg-helpers.ts';

// The suite runs on SQLite, and again on PostgreSQL when one answers (TEST_DATABASE_URL, else 127.0.0.1:5432):
// the files of test/postgres-suite.ts, or every file with DOZOR_PG_ALL=1 (to try one there).
export default defineConfig(async (): Promise<ViteUserConfig> => {
  const pg = await testPg();
  if (pg.missing) console.warn(`dozor tests: the PostgreSQL run is skipped: ${pg.missing}`);
  return {
    test: {
      setupFiles: ['test/setup.ts'],
      // Tests start real servers and child processes; two cores, so keep it modest.
      pool: 'forks',
      testTimeout: 30_000,
      hookTimeout: 30_000,
      projects: [
        { extends: true as const, test: { name: 'sqlite', include: ['test/**/*.test.ts'] } },
        ...(pg.missing
          ? []
          : [{ extends: true as const, test: { name: 'postgres', include: process.env.DOZOR_PG_ALL ? ['test/**/*.test.ts'] : [...POSTGRES_SUITE], env: { DOZOR_TEST_DATABASE: 'postgres', TEST_DATABASE_URL: pg.adminUrl } } }]),
      ],
    },
  };
});
