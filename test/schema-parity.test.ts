import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { getTableColumns, getTableName, is } from 'drizzle-orm';
import { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import * as schema from '../db/schema.ts';
import { ROOT } from './cli-helpers.ts';
import { testDb } from './helpers.ts';
import { freshPgDatabase, testPg } from './pg-helpers.ts';

/**
 * One schema (db/schema.ts), two databases: the PostgreSQL schema is derived
 * from it (db/schema-pg.ts) and each has its own chain of generated
 * migrations. Both chains, applied, must hold the same tables with the same
 * columns, keys and indexes, each column in its database's counterpart type.
 */

interface Shape {
  columns: Record<string, string[]>;
  indexes: string[];
}

const PG_TYPES: Readonly<Record<string, string>> = { SQLiteBoolean: 'boolean', SQLiteTextJson: 'jsonb', SQLiteText: 'text' };

/** Each column of db/schema.ts (`table.column`) with the PostgreSQL type it must have: every integer and time a bigint, flags boolean, JSON jsonb. */
function expectedPgTypes(): Map<string, string> {
  const types = new Map<string, string>();
  for (const table of Object.values(schema) as unknown[]) {
    if (!is(table, SQLiteTable)) continue;
    for (const column of Object.values(getTableColumns(table))) {
      const type = PG_TYPES[(column as { columnType: string }).columnType] ?? 'bigint';
      types.set(`${getTableName(table)}.${column.name}`, type);
    }
  }
  return types;
}

describe('the schema on SQLite and on PostgreSQL', () => {
  it('holds the same tables, columns (in counterpart types, null or not alike), keys and indexes on both', async () => {
    const pgServer = await testPg();
    if (pgServer.missing) return void console.warn(`skipped: ${pgServer.missing}`);
    const t = await testDb();
    const database = await freshPgDatabase('parity');
    const pool = new pg.Pool({ connectionString: database.url });
    try {
      await migrate(drizzle(pool), { migrationsFolder: join(ROOT, 'db/migrations-pg') });
      const sqlite: Shape = { columns: {}, indexes: [] };
      const tables = t.db.$client.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%' ORDER BY name").pluck().all() as string[];
      const sqliteTypes: Record<string, { notnull: boolean }> = {};
      for (const table of tables) {
        const info = t.db.$client.prepare(`PRAGMA table_info("${table}")`).all() as { name: string; type: string; notnull: number; pk: number }[];
        sqlite.columns[table] = info.map((c) => c.name).sort();
        for (const c of info) sqliteTypes[`${table}.${c.name}`] = { notnull: c.notnull === 1 || c.pk > 0 };
      }
      sqlite.indexes = (t.db.$client.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name").pluck().all() as string[]).sort();

      const columns = await pool.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, column_name",
      );
      const postgres: Shape = { columns: {}, indexes: [] };
      for (const row of columns.rows) (postgres.columns[row.table_name] ??= []).push(row.column_name);
      for (const list of Object.values(postgres.columns)) list.sort();
      const pgIndexes = await pool.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_pk' ORDER BY indexname");
      postgres.indexes = pgIndexes.rows.map((r) => r.indexname).sort();

      expect(Object.keys(postgres.columns).sort()).toEqual(tables);
      expect(postgres.columns).toEqual(sqlite.columns);
      expect(postgres.indexes).toEqual(sqlite.indexes);
      const expected = expectedPgTypes();
      for (const row of columns.rows) {
        const key = `${row.table_name}.${row.column_name}`;
        expect(row.data_type, key).toBe(expected.get(key));
        expect(row.is_nullable === 'NO', `${key} not null`).toBe(sqliteTypes[key]!.notnull);
      }
    } finally {
      await pool.end();
      await database.drop();
      await t.close();
    }
  });

  it('has both chains of migrations up to date with db/schema.ts: generating again writes nothing', () => {
    // drizzle-kit takes --out relative to where it runs: the copies go under node_modules/.cache.
    mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, 'node_modules/.cache/dozor-migrations-'));
    try {
      // As drizzle.config.ts and drizzle.config.pg.ts say, into copies of the two folders.
      for (const [dialect, schema, folder] of [['sqlite', 'db/schema.ts', 'db/migrations'], ['postgresql', 'db/schema-pg.ts', 'db/migrations-pg']] as const) {
        const copy = join(dir, folder.replace('/', '-'));
        cpSync(join(ROOT, folder), copy, { recursive: true });
        const before = readdirSync(copy).sort();
        const run = spawnSync(join(ROOT, 'node_modules/.bin/drizzle-kit'), ['generate', '--dialect', dialect, '--schema', `./${schema}`, '--out', relative(ROOT, copy)], { cwd: ROOT, encoding: 'utf8' });
        expect(run.status, run.stderr).toBe(0);
        expect(run.stdout, `${dialect}: ${run.stdout}`).toMatch(/No schema changes/);
        expect(readdirSync(copy).sort()).toEqual(before);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
