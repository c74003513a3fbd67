import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli-helpers.ts';
import { LEFT_OUT, POSTGRES_SUITE } from './postgres-suite.ts';

/** What a test file calls when it opens a database: test/helpers.ts, process-helpers.ts, pg-helpers.ts, the bot's harness, db/open.ts, the CLI. */
const OPENS_A_DATABASE =
  /\b(?:testDb|openDb|openDatabase|openPostgres|freshPgDatabase|serviceDatabase|seedDatabaseFile|startServiceProcess|startService|botHarness|dozor|dozorWithEnv)\(|from '(?:\.\.\/db\/open(?:-postgres)?\.ts|better-sqlite3)'/;

describe('the PostgreSQL run of the suite', () => {
  const files = readdirSync(join(ROOT, 'test'))
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => `test/${name}`)
    .sort();

  it('takes every test file, or names the reason it leaves it out', () => {
    const listed = [...POSTGRES_SUITE, ...Object.keys(LEFT_OUT)].sort();
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed, 'each file of test/ goes in POSTGRES_SUITE or LEFT_OUT (with the reason) of test/postgres-suite.ts').toEqual(files);
  });

  it('leaves out as touching no database only files that open none', () => {
    const noDatabase = Object.entries(LEFT_OUT)
      .filter(([, reason]) => reason.because === 'no-database')
      .map(([file]) => file);
    expect(noDatabase.filter((file) => OPENS_A_DATABASE.test(readFileSync(join(ROOT, file), 'utf8')))).toEqual([]);
    // The pattern itself finds a file that does.
    expect(OPENS_A_DATABASE.test(readFileSync(join(ROOT, 'test/request-logger.test.ts'), 'utf8'))).toBe(true);
  });
});
