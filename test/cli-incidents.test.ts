import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase } from '../db/open.ts';
import { noteUnmatchedAlert } from '../db/unmatched-alerts.ts';
import { postReport, startIntake, tempDir } from './helpers.ts';
import { dozor, dozorJson } from './cli-helpers.ts';
import { serviceDatabase, type ServiceDatabase } from './process-helpers.ts';
import { formatTime } from '../cli/output.ts';
import type { Severity } from '../core/rules.ts';
import { writeTransaction } from '../db/transaction.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { activeSilences, loadSubject, openIncident } from '../incidents/lifecycle.ts';

describe('dozor command line: checks, incidents, silences, policies', () => {
  const dir = tempDir();
  let target: ServiceDatabase;
  let database = '';
  let installationId = 0;
  let token = '';
  afterAll(async () => {
    await target.drop();
    dir.cleanup();
  });

  beforeAll(async () => {
    target = await serviceDatabase(dir.path);
    database = target.target;
    dozorJson(database, 'user', 'add', '--telegram-id', '1001', '--role', 'manager', '--name', 'Ксения');
    dozorJson(database, 'client', 'add', '--name', 'ООО «Ромашка»', '--manager', '1001');
    const added = dozorJson<{ id: number; token: string }>(database, 'installation', 'add', '--client', 'ООО «Ромашка»', '--name', 'Сервер', '--kind', 'network');
    installationId = added.id;
    token = added.token;
    const db = await target.open();
    const intake = await startIntake(db, () => new Date());
    try {
      await postReport(intake.url, '<report id="1"><senselock state="lost"/><shell version="6.4.2.73"/></report>', { token });
    } finally {
      await intake.close();
      await closeDatabase(db);
    }
  });

  it('lists the alerts from Alertmanager that fit no installation', async () => {
    expect(dozor(database, 'alerts', 'unmatched').stdout).toContain('No unmatched alerts.');
    const db = await target.open();
    try {
      await noteUnmatchedAlert(db, { fingerprint: 'f1', alertname: 'NodeDown', labels: { alertname: 'NodeDown', instance: 'x.example:9100' }, annotations: {}, startsAt: null, reason: 'none', candidates: [], status: 'firing' }, new Date());
    } finally {
      await closeDatabase(db);
    }
    const listed = dozor(database, 'alerts', 'unmatched');
    expect(listed.stdout).toMatch(/NodeDown\s+instance:x\.example\s+instance=x\.example:9100\s+fits no installation\s+firing/);
    expect(dozorJson<{ alertname: string }[]>(database, 'alerts', 'unmatched').map((a) => a.alertname)).toEqual(['NodeDown']);
  });

  it('lists the rule catalogue, and its dependencies as a matrix', () => {
    const rules = dozorJson<{ id: string; threshold: string | null }[]>(database, 'rules');
    expect(rules.find((r) => r.id === 'KodeksXmlMissing')!.threshold).toBe('2d');
    expect(rules.find((r) => r.id === 'KodeksLicenseExpiring7day')).toMatchObject({ threshold: '7d', severity: 'warning' });
    const deps = dozor(database, 'rules', '--deps').stdout;
    expect(deps).toMatch(/^RULE\s+KodeksIcmp\s+KodeksTcpStatus\s+KodeksMaintenance\s+KodeksLimitsUsers\s+licence manager unreachable$/m);
    expect(deps).toMatch(/^KodeksAuthNotWork\s+waits\s+waits\s+waits\s+waits$/m);
    expect(deps).toMatch(/^KodeksBehindProxyDown\s+waits\s+waits\s+waits$/m);
    expect(deps).toMatch(/^KodeksXmlSensLockStatus\s+named$/m);
  });

  it('shows open incidents and acknowledges one', () => {
    const open = dozorJson<{ id: number; ruleId: string; status: string }[]>(database, 'incidents');
    expect(open.map((i) => i.ruleId)).toEqual(['KodeksXmlSensLockStatus']);
    const ack = dozorJson(database, 'incident', 'ack', String(open[0]!.id));
    expect(ack).toMatchObject({ outcome: 'acknowledged', acknowledgedBy: expect.stringMatching(/^cli:/) });
    const shown = dozorJson<{ events: { type: string }[] }>(database, 'incident', 'show', String(open[0]!.id));
    expect(shown.events.map((e) => e.type)).toEqual(['opened', 'announced', 'acknowledged']);
  });

  it('sets the fleet minimum version, and the check finds what lags behind', () => {
    expect(dozor(database, 'policy', 'set', 'min-shell-version', 'six').stderr).toMatch(/takes a version such as 6.4.3.59/);
    dozorJson(database, 'policy', 'set', 'min-shell-version', '6.4.3.59');
    const result = dozorJson<{ summary: { opened: number }; open: { ruleId: string }[] }>(database, 'check');
    expect(result.summary.opened).toBe(1);
    expect(result.open.map((i) => i.ruleId).sort()).toEqual(['KodeksShellVersionOutdated', 'KodeksXmlSensLockStatus']);
  });

  it('overrides a threshold per installation, refusing rules without one', () => {
    const set = dozorJson(database, 'installation', 'set', String(installationId), '--threshold', 'KodeksXmlMissing=3d', 'KodeksShellVersionOutdated=6.4.2.0');
    expect(set).toEqual({ id: installationId, thresholds: { KodeksXmlMissing: 3 * 86_400_000, KodeksShellVersionOutdated: '6.4.2.0' } });
    const check = dozorJson<{ summary: { resolved: number } }>(database, 'check');
    expect(check.summary.resolved).toBe(1);
    const refused = dozor(database, 'installation', 'set', String(installationId), '--threshold', 'KodeksServiceDown=1h');
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/KodeksServiceDown fires as soon as a report shows the problem/);
    expect(dozor(database, 'installation', 'set', String(installationId), '--threshold', 'KodeksNope=1h').stderr).toMatch(/unknown rule "KodeksNope"/);
  });

  it('sets and clears the licence manager an installation is probed for', () => {
    expect(dozorJson(database, 'installation', 'set', String(installationId), '--licman', '10.0.0.5')).toEqual({ id: installationId, licman: { host: '10.0.0.5', port: 8888 } });
    expect(dozorJson(database, 'installation', 'set', String(installationId), '--licman', '[::1]:8889')).toMatchObject({ licman: { host: '::1', port: 8889 } });
    expect(dozor(database, 'installation', 'set', String(installationId), '--licman', 'lm example').stderr).toMatch(/"lm example" is not a licence manager address/);
    expect(dozorJson(database, 'installation', 'set', String(installationId), '--licman', '-')).toMatchObject({ licman: null });
  });

  it('adds, lists and removes silences', () => {
    const silence = dozorJson<{ id: number }>(database, 'silence', 'add', '--client', 'ООО «Ромашка»', '--for', '2h', '--reason', 'плановые работы');
    expect(dozorJson<{ id: number }[]>(database, 'silence', 'list').map((s) => s.id)).toContain(silence.id);
    dozorJson(database, 'silence', 'remove', String(silence.id));
    expect(dozorJson<unknown[]>(database, 'silence', 'list')).toEqual([]);
    expect(dozor(database, 'silence', 'add', '--client', '1', '--reason', 'x').stderr).toMatch(/either a duration/);
  });

  it('places the alerts of a source under an installation, lists the routes and forgets one', () => {
    expect(dozor(database, 'alerts', 'route', 'x.example', '1').stderr).toMatch(/"x\.example" is not an alert source; write instance:10\.0\.0\.7/);
    const routed = dozorJson<{ source: string; installationId: number; opened: number }>(database, 'alerts', 'route', 'instance:x.example', '1');
    expect(routed).toEqual({ source: 'instance:x.example', installationId: 1, opened: 1 });
    expect(dozor(database, 'alerts', 'unmatched').stdout).toContain('No unmatched alerts.');
    expect(dozor(database, 'alerts', 'routes').stdout).toMatch(/instance:x\.example\s+1 Сервер\s+ООО «Ромашка»/);
    expect(dozor(database, 'alerts', 'unroute', 'instance:x.example').stdout).toContain('matched by their labels alone again');
    expect(dozor(database, 'alerts', 'unroute', 'instance:x.example').stderr).toMatch(/no installation was set for "instance:x\.example"/);
    expect(dozor(database, 'alerts', 'routes').stdout).toContain('No alert routes.');
  });
});

describe('dozor incidents: what holds an alert nobody was told of', () => {
  const dir = tempDir();
  let target: ServiceDatabase;
  let database = '';
  beforeAll(async () => {
    target = await serviceDatabase(dir.path);
    database = target.target;
  });
  afterAll(async () => {
    await target.drop();
    dir.cleanup();
  });

  /** Open incidents as the checks do: announced at once unless a silence or an open cause holds them. */
  async function open(installationId: number, ...opening: { ruleId: string; severity: Severity }[]): Promise<void> {
    const db = await target.open();
    try {
      await writeTransaction(db, async (tx) => {
        for (const { ruleId, severity } of opening) {
          await openIncident(tx, DEFAULT_INCIDENT_SETTINGS, await loadSubject(tx, installationId), { ruleId, severity, facts: {} }, new Date(), await activeSilences(tx, new Date()));
        }
      });
    } finally {
      await closeDatabase(db);
    }
  }
  const statusOf = (listing: string, ruleId: string) => new RegExp(`^\\d+\\s+\\w+\\s+${ruleId}\\s.*\\([^)]* ago\\)\\s+(.+)$`, 'm').exec(listing)?.[1];

  it('says which silence until when, which alert it waits for, or that the next check announces it; --json carries it as data', async () => {
    dozorJson(database, 'user', 'add', '--telegram-id', '1001', '--role', 'manager', '--name', 'Ксения');
    dozorJson(database, 'client', 'add', '--name', 'ООО «Ромашка»', '--manager', '1001');
    const { id } = dozorJson<{ id: number }>(database, 'installation', 'add', '--client', 'ООО «Ромашка»', '--name', 'Сервер', '--kind', 'network');
    const silence = dozorJson<{ id: number; endsAt: string }>(database, 'silence', 'add', '--installation', String(id), '--rule', 'KodeksServiceDown', '--for', '2h', '--reason', 'замена службы');
    await open(id, { ruleId: 'KodeksTcpStatus', severity: 'critical' }, { ruleId: 'KodeksHttp200Status', severity: 'critical' }, { ruleId: 'KodeksServiceDown', severity: 'critical' }, { ruleId: 'KodeksMaintenance', severity: 'info' });
    // Nothing is silenced but the service: the web page's alert waits for the web port's.
    expect(dozorJson<unknown[]>(database, 'silence', 'list')).toHaveLength(1);

    const listing = dozor(database, 'incidents').stdout;
    expect(listing).not.toContain('held by a silence');
    expect(statusOf(listing, 'KodeksTcpStatus')).toBe('open');
    expect(statusOf(listing, 'KodeksHttp200Status')).toBe('open, waiting for KodeksTcpStatus');
    expect(statusOf(listing, 'KodeksServiceDown')).toBe(`open, held by silence #${silence.id} until ${formatTime(new Date(silence.endsAt), 'Europe/Moscow')}`);
    expect(statusOf(listing, 'KodeksMaintenance')).toBe('open, a notice');

    const json = dozorJson<{ ruleId: string; hold: unknown }[]>(database, 'incidents');
    expect(Object.fromEntries(json.map((i) => [i.ruleId, i.hold]))).toEqual({
      KodeksTcpStatus: null,
      KodeksHttp200Status: { by: 'cause', ruleId: 'KodeksTcpStatus' },
      KodeksServiceDown: { by: 'silence', silenceId: silence.id, until: silence.endsAt },
      KodeksMaintenance: null,
    });

    dozorJson(database, 'silence', 'remove', String(silence.id));
    expect(statusOf(dozor(database, 'incidents').stdout, 'KodeksServiceDown')).toBe('open, announced at the next check');
  });
});
