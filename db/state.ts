import { getTableColumns } from 'drizzle-orm';
import type { InstallationState } from '../core/state.ts';
import { chunks } from './chunks.ts';
import type { DB, Queryable } from './open.ts';
import { MultiRowStatement, statement } from './statements.ts';
import { installationState } from './schema.ts';

/**
 * The one mapping between an installation's state and its row, derived from
 * the table: every column but the key is a field of the state under the same
 * name. Times are stored as epoch milliseconds and flags as 0/1 (booleans on PostgreSQL); a fact never
 * reported is NULL in the row and absent from the state. The intake, the sweep
 * and the metrics read rows through it, in the column order it lists.
 */
type StateKey = Exclude<keyof typeof installationState.$inferSelect, 'installationId'>;

/** True only when the table's columns and the state's fields are the same set: adding one without the other fails to compile. */
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const columnsAreFields: SameKeys<StateKey, keyof InstallationState> = true;
void columnsAreFields;

interface StateColumn {
  key: StateKey;
  name: string;
  kind: 'time' | 'flag' | 'json' | 'value';
}

export const STATE_COLUMNS: readonly StateColumn[] = Object.entries(getTableColumns(installationState))
  .filter(([key]) => key !== 'installationId')
  .map(([key, column]) => ({
    key: key as StateKey,
    name: column.name,
    kind: column.columnType === 'SQLiteTimestamp' ? 'time' : column.columnType === 'SQLiteBoolean' ? 'flag' : column.columnType === 'SQLiteTextJson' ? 'json' : 'value',
  }));

/** Fields that are null rather than absent when unknown. */
const NULLABLE: ReadonlySet<StateKey> = new Set(['lastGeneratedAt']);

/** The state columns of the table under `alias`, in STATE_COLUMNS order, for a raw SELECT. */
export function stateColumnList(alias: string): string {
  return STATE_COLUMNS.map((c) => `${alias}.${c.name}`).join(', ');
}

type SqlValue = string | number | null;

/** Every stored state has a receipt time: where it is NULL (a LEFT JOIN without a row), there is no state. */
const RECEIVED_AT = STATE_COLUMNS.findIndex((c) => c.key === 'lastReceivedAt');

/**
 * A state from a row's values in STATE_COLUMNS order, starting at `offset`;
 * null when the installation never reported (no row, so no receipt time).
 */
export function stateFromValues(values: readonly unknown[], offset = 0): InstallationState | null {
  const received = values[offset + RECEIVED_AT];
  if (received === null || received === undefined) return null;
  return decodeState(values, offset);
}

/**
 * The decoder, written out once from STATE_COLUMNS as straight-line code with
 * named property stores: the sweep decodes 100,000 rows at a time, and a loop
 * storing properties by computed key made the whole all-due sweep about a
 * fifth slower. The keys are the table's own column names, nothing from outside.
 */
const decodeState = new Function(
  'values',
  'offset',
  [
    'const state = {};',
    'let value;',
    ...STATE_COLUMNS.map((column, i) => {
      const read = `value = values[offset + ${i}];`;
      const set = column.kind === 'time' ? 'new Date(value)' : column.kind === 'flag' ? '(value === 1 || value === true)' : column.kind === 'json' ? 'JSON.parse(value)' : 'value';
      const absent = NULLABLE.has(column.key) ? `else state.${column.key} = null;` : '';
      return `${read} if (value !== null) state.${column.key} = ${set}; ${absent}`;
    }),
    'return state;',
  ].join('\n'),
) as (values: readonly unknown[], offset: number) => InstallationState;

/** A state's values in STATE_COLUMNS order, as SQLite stores them. */
function stateToValues(state: InstallationState): SqlValue[] {
  const fields = state as unknown as Record<StateKey, unknown>;
  return STATE_COLUMNS.map(({ key, kind }) => {
    const value = fields[key];
    if (value === undefined || value === null) return null;
    if (kind === 'time') return (value as Date).getTime();
    if (kind === 'flag') return value ? 1 : 0;
    if (kind === 'json') return JSON.stringify(value);
    return value as string | number;
  });
}

const readState = statement('state.get', `SELECT ${stateColumnList('s')} FROM installation_state s WHERE s.installation_id = ?`);
const STATE_NAMES = STATE_COLUMNS.map((c) => c.name);
const writeState = statement(
  'state.save',
  `INSERT INTO installation_state (installation_id, ${STATE_NAMES.join(', ')}) VALUES (?, ${STATE_NAMES.map(() => '?').join(', ')})
   ON CONFLICT (installation_id) DO UPDATE SET ${STATE_NAMES.map((name) => `${name} = excluded.${name}`).join(', ')}`,
);

/** One installation's state (null: it never reported). Read for every report: a prepared raw statement. */
export async function getState(db: DB, installationId: number): Promise<InstallationState | null> {
  const [row] = await readState.values(db, installationId);
  return row ? stateFromValues(row) : null;
}

/** The states of several installations, by id (those that never reported are left out). */
export async function getStates(db: DB, installationIds: readonly number[]): Promise<Map<number, InstallationState>> {
  const result = new Map<number, InstallationState>();
  for (const id of installationIds) {
    const state = await getState(db, id);
    if (state) result.set(id, state);
  }
  return result;
}

/** Store an installation's state, by a prepared raw statement. */
export async function saveState(db: DB, installationId: number, state: InstallationState): Promise<void> {
  await writeState.run(db, installationId, ...stateToValues(state));
}

const writeStates = new MultiRowStatement(
  'state.saveMany',
  `INSERT INTO installation_state (installation_id, ${STATE_NAMES.join(', ')}) VALUES`,
  `(?, ${STATE_NAMES.map(() => '?').join(', ')})`,
  `ON CONFLICT (installation_id) DO UPDATE SET ${STATE_NAMES.map((name) => `${name} = excluded.${name}`).join(', ')}`,
);

/** Store the states of many installations (one each: a row may not be written twice by one statement), a few statements for a whole batch. */
export async function saveStates(db: Queryable, states: ReadonlyMap<number, InstallationState>): Promise<void> {
  const rows = [...states].map(([id, state]) => [id, ...stateToValues(state)]);
  for (const chunk of chunks(rows, STATE_ROWS_PER_STATEMENT)) await writeStates.run(db, chunk);
}

/** A state row binds 32 values: this many rows stay well inside both databases' limits on bound parameters. */
const STATE_ROWS_PER_STATEMENT = 200;
