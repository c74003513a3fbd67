import { eq, getTableColumns, inArray } from 'drizzle-orm';
import type { InstallationState } from '../core/state.ts';
import type { DB, Queryable } from './open.ts';
import { prepared, rootOf } from './prepared.ts';
import { installationState } from './schema.ts';

type StateRow = typeof installationState.$inferSelect;

export function getState(db: Queryable, installationId: number): InstallationState | null {
  const root = rootOf(db);
  if (root) {
    // The intake reads this for every report: a raw statement, mapped by hand.
    const raw = prepared(root, 'state.get', (d) =>
      d.$client.prepare<[number], RawStateRow>(`SELECT ${STATE_SELECT} FROM installation_state WHERE installation_id = ?`),
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

/** Store an installation's state: written for every report, by a raw statement with the row converted by hand. */
export function saveState(db: DB, installationId: number, state: InstallationState): void {
  prepared(db, 'state.save', (d) => {
    const columns = Object.entries(getTableColumns(installationState)).map(([key, column]) => ({ key, name: column.name }));
    const updates = columns.filter((c) => c.key !== 'installationId').map((c) => `${c.name} = excluded.${c.name}`);
    return d.$client.prepare(
      `INSERT INTO installation_state (${columns.map((c) => c.name).join(', ')}) VALUES (${columns.map((c) => `@${c.key}`).join(', ')})
       ON CONFLICT (installation_id) DO UPDATE SET ${updates.join(', ')}`,
    );
  }).run(toSqlRow(installationId, state));
}

const STATE_SELECT = Object.entries(getTableColumns(installationState))
  .map(([key, column]) => `${column.name} AS "${key}"`)
  .join(', ');

type RawStateRow = ReturnType<typeof toSqlRow>;

/** A raw row back to the state, by hand: read for every report. Absent facts stay absent (not null). */
function fromRawRow(r: RawStateRow): InstallationState {
  const state: InstallationState = {
    lastReceivedAt: new Date(r.lastReceivedAt as number),
    lastGeneratedAt: r.lastGeneratedAt === null ? null : new Date(r.lastGeneratedAt as number),
  };
  if (r.shellVersion !== null) state.shellVersion = r.shellVersion as string;
  if (r.updateNumber !== null) state.updateNumber = r.updateNumber as number;
  if (r.operapDate !== null) state.operapDate = r.operapDate as string;
  if (r.serviceState !== null) state.serviceState = r.serviceState as NonNullable<InstallationState['serviceState']>;
  if (r.serviceAccount !== null) state.serviceAccount = r.serviceAccount as NonNullable<InstallationState['serviceAccount']>;
  if (r.senselockState !== null) state.senselockState = r.senselockState as NonNullable<InstallationState['senselockState']>;
  if (r.kitAssembled !== null) state.kitAssembled = r.kitAssembled === 1;
  if (r.dailyUpdate !== null) state.dailyUpdate = r.dailyUpdate === 1;
  if (r.copybaseweb !== null) state.copybaseweb = r.copybaseweb === 1;
  if (r.storagePath !== null) state.storagePath = r.storagePath as string;
  if (r.storageReachable !== null) state.storageReachable = r.storageReachable === 1;
  if (r.licenseLimit !== null) state.licenseLimit = r.licenseLimit as number;
  if (r.licensePeak !== null) state.licensePeak = r.licensePeak as number;
  if (r.licenseExhausted !== null) state.licenseExhausted = r.licenseExhausted as number;
  if (r.previousShellVersion !== null) state.previousShellVersion = r.previousShellVersion as string;
  if (r.shellVersionChangedAt !== null) state.shellVersionChangedAt = new Date(r.shellVersionChangedAt as number);
  if (r.lastHealthyAt !== null) state.lastHealthyAt = new Date(r.lastHealthyAt as number);
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

const ms = (date: Date | null | undefined) => (date ? date.getTime() : null);
const bit = (flag: boolean | undefined) => (flag === undefined ? null : flag ? 1 : 0);

/** The row as SQLite stores it (dates as epoch milliseconds, flags as 0/1). */
function toSqlRow(installationId: number, s: InstallationState): Record<keyof StateRow, string | number | null> {
  return {
    installationId,
    lastReceivedAt: s.lastReceivedAt.getTime(),
    lastGeneratedAt: ms(s.lastGeneratedAt),
    shellVersion: s.shellVersion ?? null,
    updateNumber: s.updateNumber ?? null,
    operapDate: s.operapDate ?? null,
    serviceState: s.serviceState ?? null,
    serviceAccount: s.serviceAccount ?? null,
    senselockState: s.senselockState ?? null,
    kitAssembled: bit(s.kitAssembled),
    dailyUpdate: bit(s.dailyUpdate),
    copybaseweb: bit(s.copybaseweb),
    storagePath: s.storagePath ?? null,
    storageReachable: bit(s.storageReachable),
    licenseLimit: s.licenseLimit ?? null,
    licensePeak: s.licensePeak ?? null,
    licenseExhausted: s.licenseExhausted ?? null,
    previousShellVersion: s.previousShellVersion ?? null,
    shellVersionChangedAt: ms(s.shellVersionChangedAt),
    lastHealthyAt: ms(s.lastHealthyAt),
  };
}
