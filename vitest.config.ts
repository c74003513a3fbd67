import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Tests start real servers and child processes; two cores, so keep it modest.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
