import { Column, getTableColumns, getTableName, is, SQL, sql, type SQLChunk } from 'drizzle-orm';
import { bigint, bigserial, boolean, foreignKey, index, jsonb, pgTable, primaryKey, text, uniqueIndex, type PgColumnBuilderBase, type PgTableWithColumns } from 'drizzle-orm/pg-core';
import { getTableConfig, SQLiteTable, type SQLiteColumn } from 'drizzle-orm/sqlite-core';
import * as sqlite from './schema.ts';

/**
 * The PostgreSQL schema, derived from the one schema there is (db/schema.ts)
 * rather than written twice: every table, column, default, key and index of
 * it, in PostgreSQL's types. Telegram ids and every other integer are
 * `bigint`, times (epoch milliseconds) `bigint`, flags `boolean`, JSON
 * `jsonb`, an autoincrement key `bigserial`. drizzle-kit reads this file to
 * write the PostgreSQL migrations (`npm run db:generate`); the queries use the
 * tables of db/schema.ts on either database, which name the same columns.
 */

/** What db/schema.ts's `createdAt()` defaults to, in PostgreSQL: now, in epoch milliseconds. */
const NOW_MS = sql`(extract(epoch from clock_timestamp()) * 1000)::bigint`;

type AnyPgTable = PgTableWithColumns<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- tables built from another dialect's at run time have no static shape

function columnFor(column: SQLiteColumn): PgColumnBuilderBase {
  const name = column.name;
  const serial = column.columnType === 'SQLiteInteger' && column.primary && (column as unknown as { autoIncrement?: boolean }).autoIncrement === true;
  if (serial) return bigserial(name, { mode: 'number' }).primaryKey();
  let built;
  switch (column.columnType) {
    case 'SQLiteInteger':
    case 'SQLiteTimestamp':
      built = bigint(name, { mode: 'number' });
      break;
    case 'SQLiteBoolean':
      built = boolean(name);
      break;
    case 'SQLiteTextJson':
      built = jsonb(name);
      break;
    case 'SQLiteText':
      built = text(name);
      break;
    default:
      throw new Error(`db/schema-pg.ts: column ${name} has type ${column.columnType}, which has no PostgreSQL counterpart here yet`);
  }
  if (column.notNull) built = built.notNull();
  if (column.primary) built = built.primaryKey();
  if (column.hasDefault && column.default !== undefined) {
    built = built.default((is(column.default, SQL) ? defaultSql(column.default, name) : column.default) as never);
  }
  return built;
}

function defaultSql(expression: SQL, column: string): SQL {
  const text = expression.queryChunks.map((chunk) => ('value' in (chunk as object) ? (chunk as { value: string[] }).value.join('') : '')).join('');
  if (/unixepoch\('subsec'\)\s*\*\s*1000/.test(text)) return NOW_MS;
  throw new Error(`db/schema-pg.ts: the default of ${column} (${text}) has no PostgreSQL counterpart here yet`);
}

/** The same SQL with every column of a SQLite table replaced by the PostgreSQL one of that name. */
function remap(expression: SQL, columnOf: (column: Column) => Column): SQL {
  const chunks = expression.queryChunks.map((chunk): SQLChunk => (is(chunk, Column) ? columnOf(chunk) : is(chunk, SQL) ? remap(chunk, columnOf) : chunk));
  return sql.join(chunks);
}

function derive(): Record<string, AnyPgTable> {
  const sources = (Object.values(sqlite) as unknown[]).filter((value): value is SQLiteTable => is(value, SQLiteTable));
  const built: Record<string, AnyPgTable> = {};
  const columnOf = (column: Column): Column => {
    const table = built[getTableName(column.table)];
    const found = table && Object.values(table).find((c) => is(c, Column) && c.name === column.name);
    if (!found) throw new Error(`db/schema-pg.ts: no PostgreSQL column for ${column.name}`);
    return found as Column;
  };
  for (const source of sources) {
    const config = getTableConfig(source);
    // The same property names as the SQLite table's, so a query written against one reads the other.
    const columns = Object.fromEntries(Object.entries(getTableColumns(source)).map(([key, column]) => [key, columnFor(column as SQLiteColumn)]));
    const table: AnyPgTable = pgTable(config.name, columns, (t) => {
      const own = (column: Column) => Object.values(t).find((c) => c.name === column.name)!;
      const target = (column: Column | SQL) => (is(column, Column) ? own(column) : remap(column, own));
      return [
        ...config.primaryKeys.map((key) => primaryKey({ columns: key.columns.map(own) as [never, ...never[]] })),
        ...config.foreignKeys.map((key) => {
          const reference = key.reference();
          const built = foreignKey({
            columns: reference.columns.map(own) as [never, ...never[]],
            foreignColumns: reference.foreignColumns.map((column) => (column.table === source ? own(column) : columnOf(column))) as [never, ...never[]],
          });
          return key.onDelete ? built.onDelete(key.onDelete) : built;
        }),
        ...config.indexes.map(({ config: index_ }) => {
          const made = (index_.unique ? uniqueIndex : index)(index_.name).on(...(index_.columns.map(target) as [never, ...never[]]));
          return index_.where ? made.where(remap(index_.where, own)) : made;
        }),
      ];
    });
    built[config.name] = table;
  }
  return built;
}

export const pgTables = derive();

// drizzle-kit finds tables among a schema file's own exports: each is exported under its table name.
export const {
  users,
  clients,
  installations,
  check_schedule,
  reports,
  installation_state,
  intake_rejections,
  audit_log,
  incidents,
  incident_events,
  outbox,
  silences,
  policies,
  access_requests,
  telegram_messages,
  key_value,
  leases,
  failure_counts,
  digest_deliveries,
  license_days,
  availability_days,
  campaign_snapshots,
  probe_state,
  probe_results,
  unmatched_alerts,
  alert_routes,
  upload_tokens,
  uploads,
  metrics_snapshots,
  web_links,
  web_sessions,
} = pgTables;
