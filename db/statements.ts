import type { Statement } from 'better-sqlite3';
import { isPostgres } from './dialect.ts';
import type { DB, Queryable } from './open.ts';
import { prepared, rootOf, toSqlValue } from './prepared.ts';
import { withTurn } from './transaction.ts';

/**
 * `IN ID_LIST(?)` in a statement's text: a list of ids of any length bound as
 * one parameter (an array, sent as JSON), read by each database's own JSON
 * functions, so a statement over a batch's installations is prepared once.
 */
const ID_LIST = /ID_LIST\((\?|@[A-Za-z_][A-Za-z0-9_]*)\)/g;

/**
 * A raw statement for the hot paths (intake, sweep, mass webhooks), written
 * once in SQL both databases read: building a drizzle query and preparing it
 * on every call costs more than running it. Placeholders are `?` in order,
 * or `@name` with the parameters in one object. On SQLite it is prepared once
 * per connection; on PostgreSQL it is a named prepared statement of each
 * connection that runs it (`$1`, `$2`… in place of the placeholders). Values
 * are bound as SQLite stores them (`toSqlValue`), which PostgreSQL reads into
 * its own column types.
 */
export class PortableStatement {
  private readonly postgresText: string;
  private readonly names: string[] = [];

  private readonly text: string;
  /** The cache keys of its two prepared forms: rows as objects, rows as arrays. */
  private readonly objectsKey: string;
  private readonly rawKey: string;

  constructor(
    private readonly key: string,
    text: string,
  ) {
    this.objectsKey = `${key}#objects`;
    this.rawKey = `${key}#raw`;
    this.text = text.replace(ID_LIST, '(SELECT value FROM json_each($1))');
    let position = 0;
    this.postgresText = text.replace(ID_LIST, '(SELECT CAST(jsonb_array_elements_text(CAST($1 AS jsonb)) AS bigint))').replace(/\?|@([A-Za-z_][A-Za-z0-9_]*)/g, (_match, name: string | undefined) => {
      if (name === undefined) return `$${++position}`;
      let index = this.names.indexOf(name);
      if (index < 0) index = this.names.push(name) - 1;
      return `$${index + 1}`;
    });
    if (position > 0 && this.names.length > 0) throw new Error(`statement ${key} mixes ? and @name placeholders`);
  }

  /** The first row, as an object keyed by the names the statement selects. */
  async get<R>(db: Queryable, ...params: unknown[]): Promise<R | undefined> {
    if (isPostgres(db)) return (await this.query<R>(db, params)).rows[0];
    return withTurn(db as DB, () => this.sqlite(db).get(...this.bind(params)) as R | undefined);
  }

  async all<R>(db: Queryable, ...params: unknown[]): Promise<R[]> {
    if (isPostgres(db)) return (await this.query<R>(db, params)).rows;
    return withTurn(db as DB, () => this.sqlite(db).all(...this.bind(params)) as R[]);
  }

  /** Every row as an array of its values, in the order selected (no object per row: the fast path for many rows). */
  async values(db: Queryable, ...params: unknown[]): Promise<unknown[][]> {
    if (isPostgres(db)) return (await this.query<unknown[]>(db, params, 'array')).rows;
    return withTurn(db as DB, () => this.sqlite(db, 'raw').all(...this.bind(params)) as unknown[][]);
  }

  /** The first value of the first row, or undefined without a row. */
  async value<V>(db: Queryable, ...params: unknown[]): Promise<V | undefined> {
    return (await this.values(db, ...params))[0]?.[0] as V | undefined;
  }

  /** Run it; how many rows it changed. */
  async run(db: Queryable, ...params: unknown[]): Promise<number> {
    if (isPostgres(db)) return (await this.query(db, params)).rowCount ?? 0;
    return withTurn(db as DB, () => this.sqlite(db).run(...this.bind(params)).changes);
  }

  /**
   * Run it with its `?` values in one array, each already as `toSqlValue`
   * gives it: for statements of hundreds of values, which are then neither
   * copied nor spread into a call again.
   */
  async runValues(db: Queryable, values: unknown[]): Promise<number> {
    if (isPostgres(db)) return (await this.queryValues(db, values)).rowCount ?? 0;
    return withTurn(db as DB, () => this.sqlite(db).run(values).changes);
  }

  /** The same, returning what the statement returns (`RETURNING`), as objects. */
  async allValues<R>(db: Queryable, values: unknown[]): Promise<R[]> {
    if (isPostgres(db)) return (await this.queryValues<R>(db, values)).rows;
    return withTurn(db as DB, () => this.sqlite(db).all(values) as R[]);
  }

  private bind(params: unknown[]): unknown[] {
    const [only] = params;
    if (this.names.length > 0) {
      const named = only as Record<string, unknown>;
      return [Object.fromEntries(this.names.map((name) => [name, toSqlValue(named[name])]))];
    }
    return params.map(toSqlValue);
  }

  private sqlite(db: Queryable, shape: 'objects' | 'raw' = 'objects'): Statement {
    const root = rootOf(db) as DB;
    return prepared(root, shape === 'raw' ? this.rawKey : this.objectsKey, (d) => {
      const statement = d.$client.prepare(this.text);
      return shape === 'raw' ? statement.raw(true) : statement;
    });
  }

  private query<R>(db: Queryable, params: unknown[], rowMode?: 'array'): Promise<{ rows: R[]; rowCount: number | null }> {
    const values = this.names.length > 0 ? this.names.map((name) => toSqlValue((params[0] as Record<string, unknown>)[name])) : params.map(toSqlValue);
    return this.queryValues<R>(db, values, rowMode);
  }

  private queryValues<R>(db: Queryable, values: unknown[], rowMode?: 'array'): Promise<{ rows: R[]; rowCount: number | null }> {
    const client = (db as unknown as { $client: PostgresClient<R> }).$client;
    return client.query({ name: this.key, text: this.postgresText, values, rowMode });
  }
}

/** A node-postgres pool or connection, as far as running a statement goes. */
interface PostgresClient<R> {
  query(config: { name: string; text: string; values: unknown[]; rowMode?: 'array' }): Promise<{ rows: R[]; rowCount: number | null }>;
}

export function statement(key: string, text: string): PortableStatement {
  return new PortableStatement(key, text);
}

/**
 * A statement writing many rows at once (`INSERT … VALUES (…), (…) …`): one
 * round trip for a batch instead of one per row, which on PostgreSQL is most
 * of a write's cost. `row` is one row's placeholders (`(?, ?, ?)`); a statement
 * is prepared per row count, once, and callers keep counts within
 * ROWS_PER_STATEMENT (db/chunks.ts).
 */
export class MultiRowStatement {
  private readonly byCount = new Map<number, PortableStatement>();

  constructor(
    private readonly key: string,
    private readonly head: string,
    private readonly row: string,
    private readonly tail = '',
  ) {}

  /** Write these rows, each an array of its values in the order of `row`'s placeholders; how many rows it changed. */
  async run(db: Queryable, rows: readonly (readonly unknown[])[]): Promise<number> {
    if (rows.length === 0) return 0;
    return this.forCount(rows.length).runValues(db, sqlValuesOf(rows));
  }

  /** Write these rows and return what the statement returns (`RETURNING`), as objects. */
  async all<R>(db: Queryable, rows: readonly (readonly unknown[])[]): Promise<R[]> {
    if (rows.length === 0) return [];
    return this.forCount(rows.length).allValues<R>(db, sqlValuesOf(rows));
  }

  private forCount(count: number): PortableStatement {
    let statement = this.byCount.get(count);
    if (!statement) {
      statement = new PortableStatement(`${this.key}.${count}`, `${this.head} ${Array.from({ length: count }, () => this.row).join(', ')} ${this.tail}`);
      this.byCount.set(count, statement);
    }
    return statement;
  }
}

/** Every row's values in one array, as the databases store them. */
function sqlValuesOf(rows: readonly (readonly unknown[])[]): unknown[] {
  const values: unknown[] = [];
  for (const row of rows) for (const value of row) values.push(toSqlValue(value));
  return values;
}
