import { randomBytes } from 'node:crypto';
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

/** A new, empty database on the test server, dropped by `drop`. */
export async function freshPgDatabase(purpose: string): Promise<{ url: string; drop(): Promise<void> }> {
  const { adminUrl, missing } = await testPg();
  if (missing) throw new Error(missing);
  const name = `dozor_test_${purpose.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
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
