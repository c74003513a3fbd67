import { describe, expect, it } from 'vitest';
import type { AgentReport } from '../core/report.ts';
import { applyReport, OWN_AGENT_WINDOW_MS, withFactSource, type InstallationState } from '../core/state.ts';
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
      lastSysinfoAt: t0,
      lastGeneratedAt: new Date('2023-02-15T05:59:00Z'),
      shellVersion: '6.4.2.73',
      kitAssembled: false,
    });
  });

  it('moves the time of the kind of evidence a report is: the full state (a report, a sysinfo) or a heartbeat (.status)', () => {
    const first = applyReport(null, report(null, {}), t0);
    const beat = applyReport(first, report(null, {}), t1, { evidence: 'status' });
    expect(beat).toMatchObject({ lastReceivedAt: t1, lastSysinfoAt: t0, lastStatusAt: t1 });
    const sysinfo = applyReport(beat, report(null, {}), new Date('2023-02-15T08:00:00Z'), { evidence: 'sysinfo' });
    expect(sysinfo).toMatchObject({ lastSysinfoAt: new Date('2023-02-15T08:00:00Z'), lastStatusAt: t1 });
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
  it('comes back exactly as saved, every fact and flag included, absent facts absent', async () => {
    const t = await testDb();
    try {
      const { installation } = await seedFleet({ db: t.db, clock: () => new Date('2023-02-15T06:00:00Z'), actor: 'test' });
      const full: InstallationState = {
        lastReceivedAt: new Date('2023-02-15T06:00:00Z'),
        lastGeneratedAt: new Date('2023-02-15T05:59:00Z'),
        lastReportId: 42,
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
        lastSysinfoAt: new Date('2023-02-15T06:00:00Z'),
        lastStatusAt: new Date('2023-02-15T05:45:00Z'),
      };
      // Every column of the table is a field here: a column added to the table and not to this test fails it.
      const columns = Object.keys(getTableColumns(installationState)).filter((key) => key !== 'installationId');
      expect(Object.keys(full).sort()).toEqual([...columns].sort());
      expect(STATE_COLUMNS.map((c) => c.key).sort()).toEqual([...columns].sort());
      await saveState(t.db, installation.id, full);
      expect(await getState(t.db, installation.id)).toStrictEqual(full);
      // The sweep and the metrics read the same row through the same mapping.
      await recheckNow(t.db, installation.id, new Date('2023-02-15T06:00:00Z'));
      expect((await loadDueRows(t.db, new Date('2023-02-15T06:00:00Z'), 0, 10))[0]!.state).toStrictEqual(full);
      expect((await listMonitoredInstallations(t.db))[0]!.state).toStrictEqual(full);
      const bare: InstallationState = { lastReceivedAt: new Date('2023-02-16T06:00:00Z'), lastGeneratedAt: null };
      await saveState(t.db, installation.id, bare);
      expect(await getState(t.db, installation.id)).toStrictEqual(bare);
    } finally {
      await t.close();
    }
  });
});

describe('applyReport with a fleet upload', () => {
  const agentAt = new Date('2026-11-30T05:00:00Z');
  const uploadAt = new Date('2026-11-30T06:00:00Z');
  const fleet = (ownAgentAt: Date | null) => ({ label: '0000 Дилер', ownAgentAt });
  const agentState = applyReport(null, report('2026-11-30T04:59:00Z', { senselockState: 'ok', serviceState: 'running' }), agentAt);

  it("keeps what the installation's own agent reported while it is heard, takes what the agent does not report, and names its source", () => {
    // A lost key in a file any client's server could have sent, dated a day ahead.
    const next = applyReport(agentState, report('2026-12-01T05:00:00Z', { senselockState: 'lost', shellVersion: '6.4.5.127' }, 'upload:1'), uploadAt, { fleet: fleet(agentAt) });
    expect(next).toMatchObject({ senselockState: 'ok', shellVersion: '6.4.5.127', factSources: { shellVersion: '0000 Дилер' } });
    // Nor is the file a sign of life: whether the installation is silent is its own agent's to say.
    expect(next.lastReceivedAt).toEqual(agentAt);
    // Its date does not make the agent's next report look older: the agent's word comes in.
    expect(next.lastGeneratedAt).toEqual(new Date('2026-11-30T04:59:00Z'));
    const agentAgain = applyReport(next, report('2026-11-30T06:59:00Z', { senselockState: 'lost', shellVersion: '6.4.5.128' }, 'r2'), new Date('2026-11-30T07:00:00Z'));
    expect(agentAgain).toMatchObject({ senselockState: 'lost', shellVersion: '6.4.5.128' });
    expect(agentAgain.factSources).toBeUndefined();
  });

  it('lets a fleet upload speak for an installation whose agent is silent past a day, or that has none', () => {
    const silent = applyReport(agentState, report(null, { senselockState: 'lost' }, 'upload:2'), new Date(agentAt.getTime() + OWN_AGENT_WINDOW_MS + 60_000), { fleet: fleet(agentAt) });
    expect(silent).toMatchObject({ senselockState: 'lost', factSources: { senselockState: '0000 Дилер' } });
    const none = applyReport(null, report(null, { senselockState: 'lost' }, 'upload:3'), uploadAt, { fleet: fleet(null) });
    // With no agent of its own, a file is its sign of life, as SMART's uploads are.
    expect(none).toMatchObject({ senselockState: 'lost', factSources: { senselockState: '0000 Дилер' }, lastReceivedAt: uploadAt });
    // What a later fleet file says of a fact a fleet file brought replaces it, still named.
    expect(applyReport(none, report(null, { senselockState: 'ok' }, 'upload:4'), uploadAt, { fleet: fleet(agentAt) })).toMatchObject({ senselockState: 'ok', factSources: { senselockState: '0000 Дилер' } });
  });

  it("adds the fleet token's label to the facts of an alert that rests on what it brought", () => {
    const state = applyReport(null, report(null, { senselockState: 'lost', serviceState: 'stopped' }, 'upload:5'), uploadAt, { fleet: fleet(null) });
    expect(withFactSource('KodeksXmlSensLockStatus', { senselockState: 'lost' }, state)).toEqual({ senselockState: 'lost', fleetUpload: '0000 Дилер' });
    expect(withFactSource('KodeksXmlSensLockStatus', { senselockState: 'lost' }, agentState)).toEqual({ senselockState: 'lost' });
    // A service state is never read from a sysinfo: no source is claimed for it.
    expect(withFactSource('KodeksServiceDown', { serviceState: 'stopped' }, state)).toEqual({ serviceState: 'stopped' });
  });
});
