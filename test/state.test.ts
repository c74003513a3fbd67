import { describe, expect, it } from 'vitest';
import type { AgentReport } from '../core/report.ts';
import { applyReport, type InstallationState } from '../core/state.ts';
import { getTableColumns } from 'drizzle-orm';
import { listMonitoredInstallations } from '../db/metrics.ts';
import { recheckNow } from '../db/check-schedule.ts';
import { installationState } from '../db/schema.ts';
import { getState, saveState, STATE_COLUMNS } from '../db/state.ts';
import { loadDueRows } from '../db/sweep-rows.ts';
import { seedFleet, testDb } from './helpers.ts';

const report = (generatedAt: string | null, facts: AgentReport['facts'], reportId = 'r'): AgentReport => ({
  reportId,
  contentHash: reportId,
  formatVersion: 1,
  generatedAt: generatedAt ? new Date(generatedAt) : null,
  facts,
});

describe('applyReport', () => {
  const t0 = new Date('2023-02-15T06:00:00Z');
  const t1 = new Date('2023-02-15T07:00:00Z');

  it('starts a state from the first report', () => {
    const state = applyReport(null, report('2023-02-15T05:59:00Z', { shellVersion: '6.4.2.73', kitAssembled: false }), t0);
    expect(state).toEqual({
      lastReceivedAt: t0,
      lastGeneratedAt: new Date('2023-02-15T05:59:00Z'),
      shellVersion: '6.4.2.73',
      kitAssembled: false,
    });
  });

  it('keeps facts a report does not mention', () => {
    const first = applyReport(null, report(null, { senselockState: 'ok', serviceState: 'running' }), t0);
    const second = applyReport(first, report(null, { serviceState: 'stopped' }), t1);
    expect(second).toMatchObject({ senselockState: 'ok', serviceState: 'stopped', lastReceivedAt: t1 });
  });

  it('records a version change, and only a change', () => {
    const a = applyReport(null, report('2023-02-15T05:00:00Z', { shellVersion: '6.4.2.73' }), t0);
    const same = applyReport(a, report('2023-02-15T05:30:00Z', { shellVersion: '6.4.2.73' }), t0);
    expect(same.previousShellVersion).toBeUndefined();
    const changed = applyReport(same, report('2023-02-15T06:30:00Z', { shellVersion: '6.4.3.59' }), t1);
    expect(changed).toMatchObject({
      shellVersion: '6.4.3.59',
      previousShellVersion: '6.4.2.73',
      shellVersionChangedAt: new Date('2023-02-15T06:30:00Z'),
    });
    // A later report without a version keeps the change on record.
    const later = applyReport(changed, report('2023-02-15T07:30:00Z', { serviceState: 'running' }), t1);
    expect(later.previousShellVersion).toBe('6.4.2.73');
  });

  it('does not roll facts back for a report generated earlier than the state', () => {
    const current = applyReport(null, report('2023-02-15T06:00:00Z', { senselockState: 'ok' }), t0);
    const late = applyReport(current, report('2023-02-14T06:00:00Z', { senselockState: 'lost' }), t1);
    expect(late.senselockState).toBe('ok');
    expect(late.lastGeneratedAt).toEqual(new Date('2023-02-15T06:00:00Z'));
    expect(late.lastReceivedAt).toEqual(t1);
  });

  it('takes the latest arrival as the last receipt, even when the server clock went back', () => {
    const current = applyReport(null, report(null, {}), t1);
    expect(applyReport(current, report(null, {}), t0).lastReceivedAt).toEqual(t0);
  });
});

describe('state in the database', () => {
  it('comes back exactly as saved, every fact and flag included, absent facts absent', () => {
    const t = testDb();
    try {
      const { installation } = seedFleet({ db: t.db, clock: () => new Date('2023-02-15T06:00:00Z'), actor: 'test' });
      const full: InstallationState = {
        lastReceivedAt: new Date('2023-02-15T06:00:00Z'),
        lastGeneratedAt: new Date('2023-02-15T05:59:00Z'),
        shellVersion: '6.4.3.59',
        updateNumber: 2251,
        operapDate: '2023-02-14',
        serviceState: 'running',
        serviceAccount: 'user',
        senselockState: 'lost',
        kitAssembled: false,
        dailyUpdate: true,
        copybaseweb: false,
        storagePath: '\\\\nas\\kodeks',
        storageReachable: true,
        licenseLimit: 10,
        licensePeak: 7,
        licenseExhausted: 0,
        previousShellVersion: '6.4.2.73',
        shellVersionChangedAt: new Date('2023-02-10T08:00:00Z'),
        lastHealthyAt: new Date('2023-02-09T08:00:00Z'),
        seatsUsed: 10,
        databases: [
          { name: 'Кодекс: Законодательство', updateNumber: 2251, licenseExpires: '2023-03-31', errors: [4111, 696] },
          { name: 'Техэксперт', errors: [] },
        ],
        serverState: 'maintenance',
        serverMessage: 'Идёт обновление',
        maintenanceSince: new Date('2023-02-15T03:00:00Z'),
        licmanHost: '10.0.0.5',
        licmanPort: 8888,
        licmanState: 'unreachable',
        serviceLoginRefused: 'smartlogin',
        factSources: { senselockState: 'fleet:Дилер 0042' },
      };
      // Every column of the table is a field here: a column added to the table and not to this test fails it.
      const columns = Object.keys(getTableColumns(installationState)).filter((key) => key !== 'installationId');
      expect(Object.keys(full).sort()).toEqual([...columns].sort());
      expect(STATE_COLUMNS.map((c) => c.key).sort()).toEqual([...columns].sort());
      saveState(t.db, installation.id, full);
      expect(getState(t.db, installation.id)).toStrictEqual(full);
      // The sweep and the metrics read the same row through the same mapping.
      recheckNow(t.db, installation.id, new Date('2023-02-15T06:00:00Z'));
      expect(loadDueRows(t.db, new Date('2023-02-15T06:00:00Z'), 0, 10)[0]!.state).toStrictEqual(full);
      expect(listMonitoredInstallations(t.db)[0]!.state).toStrictEqual(full);
      const bare: InstallationState = { lastReceivedAt: new Date('2023-02-16T06:00:00Z'), lastGeneratedAt: null };
      saveState(t.db, installation.id, bare);
      expect(getState(t.db, installation.id)).toStrictEqual(bare);
    } finally {
      t.close();
    }
  });
});
