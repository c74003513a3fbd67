import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

/**
 * The PostgreSQL the tests use: `TEST_DATABASE_URL` when set (CI sets it, and
 * then a server that does not answer fails the run), else one answering on
 * 127.0.0.1:5432 as user postgres (the development machines'), else none: the
 * PostgreSQL tests say they are skipped and why.
 */
const GIVEN = process.env.TEST_DATABASE_URL;
const LOCAL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestPg {
  /** The server's maintenance database, to create and drop others with. */
  adminUrl: string;
  /** Why there is none, when there is none. */
  missing?: string;
}

let found: Promise<TestPg> | undefined;
let template: Promise<string> | undefined;

const MIGRATIONS = fileURLToPath(new URL('../db/migrations-pg', import.meta.url));

/**
 * A database migrated to the current schema, to copy test databases from
 * (CREATE DATABASE … TEMPLATE: far faster than migrating each). Named after
 * the migrations it holds, made once by whichever test process asks first.
 */
function migratedTemplate(adminUrl: string): Promise<string> {
  template ??= (async () => {
    const journal = readFileSync(join(MIGRATIONS, 'meta', '_journal.json'));
    const sql = readdirSync(MIGRATIONS).filter((f) => f.endsWith('.sql')).sort().map((f) => readFileSync(join(MIGRATIONS, f)));
    const name = `dozor_test_template_${createHash('sha256').update(journal).update(Buffer.concat(sql)).digest('hex').slice(0, 12)}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      // Test processes start together: one makes it, the others wait for it.
      await admin.query('select pg_advisory_lock(7700)');
      const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name]);
      if (!rowCount) {
        const building = `${name}_building`;
        await admin.query(`drop database if exists "${building}" with (force)`);
        await admin.query(`create database "${building}"`);
        const url = new URL(adminUrl);
        url.pathname = `/${building}`;
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        try {
          await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS });
        } finally {
          await client.end();
        }
        await admin.query(`alter database "${building}" rename to "${name}"`);
      }
      return name;
    } finally {
      await admin.query('select pg_advisory_unlock(7700)').catch(() => undefined);
      await admin.end();
    }
  })();
  return template;
}

/** Whether a PostgreSQL answers, and where. */
export function testPg(): Promise<TestPg> {
  found ??= (async () => {
    const adminUrl = GIVEN ?? LOCAL;
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return { adminUrl };
    } catch (err) {
      if (GIVEN) throw new Error(`TEST_DATABASE_URL is set but PostgreSQL does not answer there: ${(err as Error).message}`, { cause: err });
      return { adminUrl, missing: `no PostgreSQL on 127.0.0.1:5432 (${(err as Error).message}); set TEST_DATABASE_URL to run these tests` };
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return found;
}

/** Whether this test run is the suite's run on PostgreSQL (the `postgres` project of vitest.config.ts). */
export function onPostgres(): boolean {
  return process.env.DOZOR_TEST_DATABASE === 'postgres';
}

/** A new database on the test server, dropped by `drop`: empty, or `migrated` (a copy of a template migrated once per schema). */
export async function freshPgDatabase(purpose: string, options: { migrated?: boolean } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const { adminUrl, missing } = await testPg();
  if (missing) throw new Error(missing);
  const name = `dozor_test_${purpose.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const template = options.migrated ? await migratedTemplate(adminUrl) : undefined;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"${template ? ` template "${template}"` : ''}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
