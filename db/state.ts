import { eq, inArray } from 'drizzle-orm';
import type { InstallationState } from '../core/state.ts';
import type { Queryable } from './open.ts';
import { installationState } from './schema.ts';

type StateRow = typeof installationState.$inferSelect;

export function getState(db: Queryable, installationId: number): InstallationState | null {
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
  const { installationId: _key, ...changes } = row;
  db.insert(installationState)
    .values(row)
    .onConflictDoUpdate({ target: installationState.installationId, set: changes })
    .run();
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
