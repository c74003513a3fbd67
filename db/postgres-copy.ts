import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { is } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { getTableConfig, SQLiteTable, type SQLiteColumn } from 'drizzle-orm/sqlite-core';
import * as schema from './schema.ts';
import type { DB } from './open.ts';

/**
 * Copying the SQLite database, every table of db/schema.ts, into an empty
 * PostgreSQL database whose schema is the one db/schema-pg.ts derives: in one
 * PostgreSQL transaction (a failure leaves it empty), read from one SQLite
 * read transaction (a snapshot), streamed in batches.
 */

const pgMigrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), 'migrations-pg');

/** Rows sent in one INSERT, and the characters of text they may come to before it is sent sooner. */
const BATCH_ROWS = 2000;
const BATCH_CHARS = 8_000_000;

/** A copy that cannot be made or did not go through, said in one sentence (never with the password). */
export class PostgresCopyError extends Error {}

type ColumnKind = 'integer' | 'time' | 'flag' | 'json' | 'text';

const PG_ARRAY_TYPES: Readonly<Record<ColumnKind, string>> = { integer: 'bigint[]', time: 'bigint[]', flag: 'boolean[]', json: 'jsonb[]', text: 'text[]' };

interface PlannedColumn {
  name: string;
  kind: ColumnKind;
}

interface PlannedTable {
  name: string;
  columns: PlannedColumn[];
  primaryKey: PlannedColumn[];
  /** Columns referring to this very table (`users.lead_id`): copied as null with the rows, set after them. */
  selfReferences: PlannedColumn[];
  /** The autoincrement key, a `bigserial` in PostgreSQL. */
  serial: string | null;
}

function kindOf(column: SQLiteColumn): ColumnKind {
  switch (column.columnType) {
    case 'SQLiteInteger':
      return 'integer';
    case 'SQLiteTimestamp':
      return 'time';
    case 'SQLiteBoolean':
      return 'flag';
    case 'SQLiteTextJson':
      return 'json';
    case 'SQLiteText':
      return 'text';
    default:
      throw new Error(`db/postgres-copy.ts: column ${column.name} has type ${column.columnType}, which it cannot copy yet`);
  }
}

/** Every table of db/schema.ts, each after the tables its foreign keys refer to (in the schema's order otherwise). */
export function copyPlan(): PlannedTable[] {
  const tables = (Object.values(schema) as unknown[]).filter((value): value is SQLiteTable => is(value, SQLiteTable));
  const planned = new Map<SQLiteTable, { table: PlannedTable; needs: Set<SQLiteTable> }>();
  for (const table of tables) {
    const config = getTableConfig(table);
    const columns = config.columns.map((column) => ({ name: column.name, kind: kindOf(column) }));
    const byName = (name: string) => columns.find((column) => column.name === name)!;
    const keyColumns = config.primaryKeys[0]?.columns.map((column) => column.name) ?? config.columns.filter((column) => column.primary).map((column) => column.name);
    const needs = new Set<SQLiteTable>();
    const selfReferences: PlannedColumn[] = [];
    for (const key of config.foreignKeys) {
      const reference = key.reference();
      if (reference.foreignTable !== table) {
        needs.add(reference.foreignTable);
        continue;
      }
      for (const column of reference.columns) {
        if (column.notNull) throw new Error(`db/postgres-copy.ts: ${config.name}.${column.name} refers to its own table and cannot be null, so it cannot be set after the rows`);
        selfReferences.push(byName(column.name));
      }
    }
    if (selfReferences.length > 0 && keyColumns.length === 0) throw new Error(`db/postgres-copy.ts: ${config.name} refers to itself but has no primary key to set the references by`);
    const serial = config.columns.find((column) => column.columnType === 'SQLiteInteger' && column.primary && (column as unknown as { autoIncrement?: boolean }).autoIncrement === true);
    planned.set(table, {
      table: { name: config.name, columns, primaryKey: keyColumns.map(byName), selfReferences, serial: serial?.name ?? null },
      needs,
    });
  }
  const ordered: PlannedTable[] = [];
  const placed = new Set<SQLiteTable>();
  while (placed.size < tables.length) {
    const next = tables.find((table) => !placed.has(table) && [...planned.get(table)!.needs].every((needed) => placed.has(needed)));
    if (!next) {
      const left = tables.filter((table) => !placed.has(table)).map((table) => getTableConfig(table).name);
      throw new Error(`db/postgres-copy.ts: the foreign keys of ${left.join(', ')} refer to each other in a circle`);
    }
    placed.add(next);
    ordered.push(planned.get(next)!.table);
  }
  return ordered;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The URL as it may be shown: the password (in the address or as a
 * `password` parameter) replaced by `…`. An address that is not a URL is
 * not shown at all.
 */
export function shownUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(not a URL)';
  }
  const password = parsed.password !== '';
  const user = parsed.username;
  const credentials = user || password ? `${user}${password ? ':…' : ''}@` : '';
  const parameters = [...parsed.searchParams.entries()].map(([key, value]) => `${encodeURIComponent(key)}=${key.toLowerCase() === 'password' ? '…' : encodeURIComponent(value)}`);
  return `${parsed.protocol}//${credentials}${parsed.host}${parsed.pathname}${parameters.length > 0 ? `?${parameters.join('&')}` : ''}`;
}

/** The password's own spellings in a URL, so they can be taken out of anything the server or the driver says. */
function secretsOf(url: string): string[] {
  try {
    const parsed = new URL(url);
    const raw = [parsed.password, ...[...parsed.searchParams.entries()].filter(([key]) => key.toLowerCase() === 'password').map(([, value]) => value)].filter((value) => value !== '');
    return [...new Set(raw.flatMap((value) => [value, safeDecode(value)]))].sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** A value of the SQLite file that PostgreSQL cannot take as it is. */
class RowProblem extends Error {}

const JSON_NUL = /(?<!\\)(?:\\\\)*\\u0000/i;

/** A value read from SQLite (integers as bigint), as PostgreSQL takes it for a column of this kind. */
function converted(kind: ColumnKind, value: unknown): unknown {
  if (value === null) return null;
  switch (kind) {
    case 'integer':
    case 'time':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      // dozor reads a time as a Date, which keeps whole milliseconds.
      if (typeof value === 'number' && kind === 'time' && Number.isFinite(value)) return Math.trunc(value);
      throw new RowProblem(`holds ${valueText(value)}, not an integer`);
    case 'flag':
      if (value === 0n || value === 0) return false;
      if (value === 1n || value === 1) return true;
      throw new RowProblem(`holds ${valueText(value)}, not 0 or 1`);
    case 'json':
      if (typeof value !== 'string') throw new RowProblem(`holds ${valueText(value)}, not JSON text`);
      if (value.includes('\\u0000') && JSON_NUL.test(value)) throw new RowProblem('holds JSON with a NUL character (\\u0000), which PostgreSQL cannot store');
      return value;
    case 'text':
      if (typeof value !== 'string') throw new RowProblem(`holds ${valueText(value)}, not text`);
      if (value.includes('\0')) throw new RowProblem('holds a NUL character, which PostgreSQL cannot store in text');
      return value;
  }
}

function valueText(value: unknown): string {
  if (Buffer.isBuffer(value)) return `${value.length} bytes of binary data`;
  const text = typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : String(value);
  return `${typeof value === 'string' ? 'the text ' : ''}${text}`;
}

/** A value of a row, converted; one PostgreSQL cannot take is refused with the row's key (`key`: the key's values, in order). */
function cell(table: PlannedTable, key: () => unknown[], column: PlannedColumn, value: unknown): unknown {
  try {
    return converted(column.kind, value);
  } catch (err) {
    if (!(err instanceof RowProblem)) throw err;
    throw new PostgresCopyError(`${table.name} row ${keyText(table, key())}: ${column.name} ${err.message}; correct or delete that row in SQLite and copy again (nothing was copied)`);
  }
}

function keyText(table: PlannedTable, key: unknown[]): string {
  const parts = table.primaryKey.map((column, i) => {
    const value = key[i];
    return `${column.name}=${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
  });
  return parts.length > 0 ? parts.join(', ') : 'without a key';
}

export interface CopiedTable {
  table: string;
  rows: number;
}

export interface CopyResult {
  /** The target as it may be shown (no password). */
  target: string;
  tables: CopiedTable[];
  rows: number;
  milliseconds: number;
}

export interface CopyOptions {
  /** Called as a table is being copied (rows so far of its total), for a progress line. */
  onProgress?: (table: string, copied: number, total: number) => void;
}

/** Whether the address is a PostgreSQL URL at all (postgres:// or postgresql://). */
function checkedUrl(url: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new PostgresCopyError('--to is not a URL: give a PostgreSQL URL such as postgres://dozor:PASSWORD@127.0.0.1:5432/dozor');
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    // Only the scheme is shown: without "//" a password is not where a URL keeps one.
    throw new PostgresCopyError(`--to is a ${protocol} address, not a PostgreSQL URL: give one such as postgres://dozor:PASSWORD@127.0.0.1:5432/dozor`);
  }
}

/**
 * Copy every table of the SQLite database into the empty PostgreSQL database
 * at `url` (its schema brought up to date first), set the id sequences past
 * every id copied, and check the row counts and the sequences. Refuses a
 * database in which any of dozor's tables holds a row; any failure leaves
 * the PostgreSQL tables as empty as they were.
 */
export async function copyToPostgres(db: DB, url: string, options: CopyOptions = {}): Promise<CopyResult> {
  checkedUrl(url);
  const started = performance.now();
  const shown = shownUrl(url);
  const secrets = secretsOf(url);
  const scrub = (text: string) => secrets.reduce((result, secret) => result.replaceAll(secret, '…'), text);
  const plan = copyPlan();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  // A connection lost while idle is reported here rather than crashing the process; the next query fails.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw new PostgresCopyError(`cannot connect to PostgreSQL at ${shown}: ${scrub(messageOf(err))}`);
  }
  try {
    try {
      await migrate(drizzle(client), { migrationsFolder: pgMigrationsFolder });
    } catch (err) {
      throw new PostgresCopyError(`cannot bring the schema of the PostgreSQL database at ${shown} up to date: ${scrub(messageOf(err))}`);
    }
    const sqlite = db.$client;
    // One read transaction: in WAL mode every read below sees the same snapshot, whatever is written meanwhile.
    sqlite.exec('BEGIN');
    try {
      const tables = await copyAll(client, sqlite, plan, shown, scrub, options);
      return { target: shown, tables, rows: tables.reduce((sum, table) => sum + table.rows, 0), milliseconds: performance.now() - started };
    } finally {
      sqlite.exec('COMMIT');
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

type Sqlite = DB['$client'];

async function copyAll(client: pg.Client, sqlite: Sqlite, plan: PlannedTable[], shown: string, scrub: (text: string) => string, options: CopyOptions): Promise<CopiedTable[]> {
  let current = '';
  await client.query('BEGIN');
  try {
    await client.query("SET LOCAL lock_timeout = '10s'");
    try {
      // Nobody else writes into the tables while they are found empty and filled.
      await client.query(`LOCK TABLE ${plan.map((table) => quote(table.name)).join(', ')} IN EXCLUSIVE MODE`);
    } catch (err) {
      throw new PostgresCopyError(`cannot lock dozor's tables in the PostgreSQL database at ${shown} (${scrub(messageOf(err))}): is a dozor service running on it? Stop it first`);
    }
    const filled = await nonEmptyTables(client, plan);
    if (filled.length > 0) {
      throw new PostgresCopyError(
        `the PostgreSQL database at ${shown} already holds dozor's data (rows in ${filled.join(', ')}): dozor db copy fills an empty database only, and copied nothing`,
      );
    }
    const expected = sqliteCounts(sqlite, plan);
    const lastIds = sqliteSequences(sqlite);
    const copied: CopiedTable[] = [];
    for (const table of plan) {
      current = table.name;
      const rows = await copyTable(client, sqlite, table, expected.get(table.name)!, options);
      await setSelfReferences(client, sqlite, table);
      copied.push({ table: table.name, rows });
    }
    current = '';
    await setSequences(client, plan, lastIds);
    await checkCopy(client, plan, expected, lastIds);
    await client.query('COMMIT');
    return copied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (err instanceof PostgresCopyError) throw err;
    const where = current ? `copying ${current} failed` : 'the copy failed';
    throw new PostgresCopyError(`${where}: ${scrub(messageOf(err))}; the PostgreSQL database at ${shown} was left without any of the rows`);
  }
}

async function nonEmptyTables(client: pg.Client, plan: PlannedTable[]): Promise<string[]> {
  const probe = plan.map((table) => `SELECT '${table.name}' AS name WHERE EXISTS (SELECT 1 FROM ${quote(table.name)})`).join(' UNION ALL ');
  return (await client.query<{ name: string }>(probe)).rows.map((row) => row.name);
}

function sqliteCounts(sqlite: Sqlite, plan: PlannedTable[]): Map<string, number> {
  return new Map(plan.map((table) => [table.name, sqlite.prepare(`SELECT count(*) FROM ${quote(table.name)}`).pluck().get() as number]));
}

/** The last id SQLite gave each AUTOINCREMENT table, deleted rows' included: PostgreSQL must not give them again. */
function sqliteSequences(sqlite: Sqlite): Map<string, number> {
  const rows = sqlite.prepare('SELECT name, seq FROM sqlite_sequence').all() as { name: string; seq: number }[];
  return new Map(rows.map((row) => [row.name, Number(row.seq)]));
}

async function copyTable(client: pg.Client, sqlite: Sqlite, table: PlannedTable, total: number, options: CopyOptions): Promise<number> {
  options.onProgress?.(table.name, 0, total);
  if (total === 0) return 0;
  const inserted = table.columns.filter((column) => !table.selfReferences.includes(column));
  const positions = inserted.map((column) => table.columns.indexOf(column));
  const keyPositions = table.primaryKey.map((column) => table.columns.indexOf(column));
  const statement = {
    name: `dozor_copy_${table.name}`,
    text: `INSERT INTO ${quote(table.name)} (${inserted.map((column) => quote(column.name)).join(', ')}) SELECT * FROM unnest(${arrayParameters(inserted)})`,
  };
  const read = sqlite.prepare(`SELECT ${table.columns.map((column) => quote(column.name)).join(', ')} FROM ${quote(table.name)}`).raw(true).safeIntegers(true);
  let copied = 0;
  const batches = new ColumnBatches(inserted.length, async (values, rows) => {
    await client.query({ ...statement, values });
    copied += rows;
    options.onProgress?.(table.name, copied, total);
  });
  for (const row of read.iterate() as IterableIterator<unknown[]>) {
    await batches.add(inserted.map((column, i) => cell(table, () => keyPositions.map((position) => row[position]), column, row[positions[i]!])));
  }
  await batches.finish();
  return copied;
}

/** Set the references of a table to itself once all its rows are there, in batches by primary key. */
async function setSelfReferences(client: pg.Client, sqlite: Sqlite, table: PlannedTable): Promise<void> {
  if (table.selfReferences.length === 0) return;
  const columns = [...table.primaryKey, ...table.selfReferences];
  const text =
    `UPDATE ${quote(table.name)} AS target SET ${table.selfReferences.map((column) => `${quote(column.name)} = source.${quote(column.name)}`).join(', ')} ` +
    `FROM unnest(${arrayParameters(columns)}) AS source(${columns.map((column) => quote(column.name)).join(', ')}) ` +
    `WHERE ${table.primaryKey.map((column) => `target.${quote(column.name)} = source.${quote(column.name)}`).join(' AND ')}`;
  const read = sqlite
    .prepare(`SELECT ${columns.map((column) => quote(column.name)).join(', ')} FROM ${quote(table.name)} WHERE ${table.selfReferences.map((column) => `${quote(column.name)} IS NOT NULL`).join(' OR ')}`)
    .raw(true)
    .safeIntegers(true);
  const batches = new ColumnBatches(columns.length, async (values) => void (await client.query(text, values)));
  for (const row of read.iterate() as IterableIterator<unknown[]>) {
    await batches.add(columns.map((column, i) => cell(table, () => row.slice(0, table.primaryKey.length), column, row[i])));
  }
  await batches.finish();
}

/** `$1::bigint[], $2::text[], …`: one array parameter per column. */
function arrayParameters(columns: PlannedColumn[]): string {
  return columns.map((column, i) => `$${i + 1}::${PG_ARRAY_TYPES[column.kind]}`).join(', ');
}

const ARRAY_ESCAPED = /[\\"]/g;

/** A converted value as an element of a PostgreSQL array literal. */
function arrayElement(value: unknown): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return `"${value.replace(ARRAY_ESCAPED, '\\$&')}"`;
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return String(value);
}

/**
 * Rows gathered column by column as array literals (built here with one join
 * each: the driver's own array conversion concatenates a string per value,
 * and collecting that garbage took longer than the copy), sent a batch at a
 * time; the next batch is read while PostgreSQL stores the one before.
 */
class ColumnBatches {
  private columns: string[][];
  private rows = 0;
  private chars = 0;
  private sending: Promise<void> | null = null;

  constructor(
    private readonly width: number,
    private readonly send: (values: string[], rows: number) => Promise<void>,
  ) {
    this.columns = this.empty();
  }

  async add(values: unknown[]): Promise<void> {
    for (let i = 0; i < this.width; i++) {
      const element = arrayElement(values[i]);
      this.chars += element.length;
      this.columns[i]!.push(element);
    }
    if (++this.rows >= BATCH_ROWS || this.chars >= BATCH_CHARS) await this.flush();
  }

  async finish(): Promise<void> {
    if (this.rows > 0) await this.flush();
    await this.sending;
  }

  private async flush(): Promise<void> {
    const values = this.columns.map((elements) => `{${elements.join(',')}}`);
    const rows = this.rows;
    this.columns = this.empty();
    this.rows = 0;
    this.chars = 0;
    // One batch at a time on the wire: the one before must be stored first (a failure surfaces here).
    await this.sending;
    const sending = this.send(values, rows);
    // Awaited at the next flush or at the end; until then a failure must not count as unhandled.
    sending.catch(() => undefined);
    this.sending = sending;
  }

  private empty(): string[][] {
    return Array.from({ length: this.width }, () => []);
  }
}

/** Each id sequence past the highest id copied and past the last id SQLite ever gave (ids of pruned rows are not given again). */
async function setSequences(client: pg.Client, plan: PlannedTable[], lastIds: Map<string, number>): Promise<void> {
  for (const table of plan) {
    if (!table.serial) continue;
    const highest = await highestId(client, table);
    const last = Math.max(highest, lastIds.get(table.name) ?? 0);
    // setval(…, n, true): the next id is n + 1; setval(…, 1, false): it is 1.
    await client.query('SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)', [quote(table.name), table.serial, Math.max(last, 1), last > 0]);
  }
}

async function highestId(client: pg.Client, table: PlannedTable): Promise<number> {
  const { rows } = await client.query<{ highest: string | null }>(`SELECT max(${quote(table.serial!)}) AS highest FROM ${quote(table.name)}`);
  return Number(rows[0]?.highest ?? 0);
}

/** The copy as it must be: as many rows in each table as SQLite had, and each sequence's next id above every id there was. */
async function checkCopy(client: pg.Client, plan: PlannedTable[], expected: Map<string, number>, lastIds: Map<string, number>): Promise<void> {
  for (const table of plan) {
    const { rows } = await client.query<{ count: string }>(`SELECT count(*) AS count FROM ${quote(table.name)}`);
    const found = Number(rows[0]!.count);
    if (found !== expected.get(table.name)) {
      throw new PostgresCopyError(`${table.name} holds ${found} rows in PostgreSQL after the copy but ${expected.get(table.name)} in SQLite, so nothing was copied`);
    }
    if (!table.serial) continue;
    const sequence = (await client.query<{ name: string }>('SELECT pg_get_serial_sequence($1, $2) AS name', [quote(table.name), table.serial])).rows[0]!.name;
    // The name comes quoted as an identifier where it needs to be.
    const state = (await client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${sequence}`)).rows[0]!;
    const next = Number(state.last_value) + (state.is_called ? 1 : 0);
    const above = Math.max(await highestId(client, table), lastIds.get(table.name) ?? 0);
    if (next <= above) {
      throw new PostgresCopyError(`the id sequence of ${table.name} would give ${next} next, not above ${above}, so nothing was copied`);
    }
  }
}

function messageOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // AggregateError (every address of a host refused) carries the useful words inside.
  if (!message && err instanceof AggregateError) return err.errors.map(messageOf).join('; ');
  return message.replace(/\s+/g, ' ').trim() || String(err);
}
