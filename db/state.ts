import { eq, getTableColumns, inArray } from 'drizzle-orm';
import type { InstallationState } from '../core/state.ts';
import type { Queryable } from './open.ts';
import { prepared, rootOf, toSqlParams } from './prepared.ts';
import { installationState } from './schema.ts';

type StateRow = typeof installationState.$inferSelect;

export function getState(db: Queryable, installationId: number): InstallationState | null {
  const root = rootOf(db);
  if (root) {
    // The intake reads this for every report: a raw statement, mapped by hand.
    const raw = prepared(root, 'state.get', (d) =>
      d.$client.prepare<[number], Record<string, unknown>>(`SELECT ${STATE_SELECT} FROM installation_state WHERE installation_id = ?`),
    ).get(installationId);
    return raw ? fromRawRow(raw) : null;
  }
  const row = db.select().from(installationState).where(eq(installationState.installationId, installationId)).get();
  return row ? fromRow(row) : null;
}

export function getStates(db: Queryable, installationIds: number[]): Map<number, InstallationState> {
  const result = new Map<number, InstallationState>();
  if (installationIds.length === 0) return result;
  const rows = db.select().from(installationState).where(inArray(installationState.installationId, installationIds)).all();
  for (const row of rows) result.set(row.installationId, fromRow(row));
  return result;
}

export function saveState(db: Queryable, installationId: number, state: InstallationState): void {
  const row = toRow(installationId, state);
  const root = rootOf(db);
  if (root) {
    // Raw SQL: drizzle's placeholders cannot carry null into a timestamp column.
    prepared(root, 'state.save', (d) => {
      const columns = Object.entries(getTableColumns(installationState)).map(([key, column]) => ({ key, name: column.name }));
      const updates = columns.filter((c) => c.key !== 'installationId').map((c) => `${c.name} = excluded.${c.name}`);
      return d.$client.prepare(
        `INSERT INTO installation_state (${columns.map((c) => c.name).join(', ')}) VALUES (${columns.map((c) => `@${c.key}`).join(', ')})
         ON CONFLICT (installation_id) DO UPDATE SET ${updates.join(', ')}`,
      );
    }).run(toSqlParams(row));
    return;
  }
  const { installationId: _key, ...changes } = row;
  db.insert(installationState)
    .values(row)
    .onConflictDoUpdate({ target: installationState.installationId, set: changes })
    .run();
}

const STATE_COLUMNS = Object.entries(getTableColumns(installationState)).map(([key, column]) => ({
  key,
  name: column.name,
  kind: column.name.endsWith('_at') ? 'date' : column.getSQLType() === 'integer' && column.dataType === 'boolean' ? 'flag' : 'value',
}));
const STATE_SELECT = STATE_COLUMNS.map((c) => `${c.name} AS "${c.key}"`).join(', ');

function fromRawRow(raw: Record<string, unknown>): InstallationState {
  const state = { lastReceivedAt: new Date(raw.lastReceivedAt as number), lastGeneratedAt: raw.lastGeneratedAt === null ? null : new Date(raw.lastGeneratedAt as number) } as InstallationState;
  const target = state as unknown as Record<string, unknown>;
  for (const column of STATE_COLUMNS) {
    const value = raw[column.key];
    if (value === null || column.key === 'installationId' || column.key === 'lastReceivedAt' || column.key === 'lastGeneratedAt') continue;
    target[column.key] = column.kind === 'date' ? new Date(value as number) : column.kind === 'flag' ? value === 1 : value;
  }
  return state;
}

function fromRow(row: StateRow): InstallationState {
  const state: InstallationState = { lastReceivedAt: row.lastReceivedAt, lastGeneratedAt: row.lastGeneratedAt };
  for (const [key, value] of Object.entries(row)) {
    if (key === 'installationId' || key === 'lastReceivedAt' || key === 'lastGeneratedAt') continue;
    if (value !== null) (state as unknown as Record<string, unknown>)[key] = value;
  }
  return state;
}

function toRow(installationId: number, s: InstallationState): StateRow {
  return {
    installationId,
    lastReceivedAt: s.lastReceivedAt,
    lastGeneratedAt: s.lastGeneratedAt,
    shellVersion: s.shellVersion ?? null,
    updateNumber: s.updateNumber ?? null,
    operapDate: s.operapDate ?? null,
    serviceState: s.serviceState ?? null,
    serviceAccount: s.serviceAccount ?? null,
    senselockState: s.senselockState ?? null,
    kitAssembled: s.kitAssembled ?? null,
    dailyUpdate: s.dailyUpdate ?? null,
    copybaseweb: s.copybaseweb ?? null,
    storagePath: s.storagePath ?? null,
    storageReachable: s.storageReachable ?? null,
    licenseLimit: s.licenseLimit ?? null,
    licensePeak: s.licensePeak ?? null,
    licenseExhausted: s.licenseExhausted ?? null,
    previousShellVersion: s.previousShellVersion ?? null,
    shellVersionChangedAt: s.shellVersionChangedAt ?? null,
    lastHealthyAt: s.lastHealthyAt ?? null,
  };
}
