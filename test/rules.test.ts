import { ruleTitle } from '../i18n/index.ts';
import { describe, expect, it } from 'vitest';
import type { InstallationState } from '../core/state.ts';
import { evaluateInstallation, getRule, RULES, thresholdFor, type RuleId } from '../core/rules.ts';
import { compareVersions } from '../core/versions.ts';
import { formatDuration, parseDuration } from '../core/duration.ts';
import { DAY, HOUR } from './helpers.ts';

const installation = { createdAt: new Date('2023-02-01T00:00:00Z'), tz: 'Europe/Moscow', thresholds: {} };
const base: InstallationState = {
  lastReceivedAt: new Date('2023-02-15T06:00:00Z'),
  lastGeneratedAt: new Date('2023-02-15T06:00:00Z'),
  lastSysinfoAt: new Date('2023-02-15T06:00:00Z'),
};

function firing(state: InstallationState | null, now: string, extra: Partial<Parameters<typeof evaluateInstallation>[0]> = {}) {
  return evaluateInstallation({ installation, state, policy: {}, now: new Date(now), ...extra }).firing;
}

describe('the rule catalogue', () => {
  it('gives every rule a stable id, a Russian title, a severity and a threshold kind', () => {
    expect(RULES.map((r) => [r.id, r.severity])).toEqual([
      ['KodeksXmlMissing', 'warning'],
      ['KodeksStatusMissing', 'warning'],
      ['KodeksOperapStale', 'warning'],
      ['KodeksXmlSensLockStatus', 'critical'],
      ['KodeksServiceDown', 'critical'],
      ['KodeksStorageUnreachable', 'critical'],
      ['KodeksKitNotAssembled', 'critical'],
      ['KodeksDailyUpdateOff', 'warning'],
      ['KodeksShellVersionOutdated', 'warning'],
      ['KodeksVersionChangeIncomplete', 'critical'],
      ['KodeksLicenseExpiring90day', 'info'],
      ['KodeksLicenseExpiring7day', 'warning'],
      ['KodeksLicenseExpiring2day', 'critical'],
      ['KodeksLicenseExpired', 'critical'],
      ['KodeksLimitsUsers', 'warning'],
      ['KodeksDetectOverUserError', 'warning'],
      ['KodeksDBErrors', 'warning'],
      ['KodeksMaintenance', 'info'],
      ['KodeksMaintenanceToLong', 'warning'],
      ['KodeksNeedSupport', 'warning'],
      ['KodeksWarning', 'critical'],
      ['KodeksAuthNotWork', 'warning'],
    ]);
    for (const rule of RULES) expect(ruleTitle('ru', rule.id)).toMatch(/[А-Яа-яЁё]/);
    expect(getRule('KodeksXmlMissing').defaultThreshold).toBe(2 * DAY);
    expect(getRule('KodeksOperapStale').defaultThreshold).toBe(3 * DAY);
    expect(getRule('KodeksVersionChangeIncomplete').defaultThreshold).toBe(DAY);
  });

  describe.each<[RuleId, Partial<InstallationState>, Partial<InstallationState>]>([
    ['KodeksXmlSensLockStatus', { senselockState: 'lost' }, { senselockState: 'ok' }],
    ['KodeksXmlSensLockStatus', { senselockState: 'absent' }, { senselockState: 'ok' }],
    ['KodeksServiceDown', { serviceState: 'stopped' }, { serviceState: 'running' }],
    ['KodeksStorageUnreachable', { storageReachable: false }, { storageReachable: true }],
    ['KodeksKitNotAssembled', { kitAssembled: false }, { kitAssembled: true }],
    ['KodeksDailyUpdateOff', { dailyUpdate: false }, { dailyUpdate: true }],
    ['KodeksDailyUpdateOff', { copybaseweb: false }, { copybaseweb: true }],
  ])('%s', (ruleId, bad, good) => {
    it(`fires on ${JSON.stringify(bad)} and clears on ${JSON.stringify(good)}`, () => {
      expect(firing({ ...base, ...bad }, '2023-02-15T06:00:00Z').has(ruleId)).toBe(true);
      expect(firing({ ...base, ...good }, '2023-02-15T06:00:00Z').has(ruleId)).toBe(false);
    });
    it('says nothing when the fact was never reported', () => {
      expect(firing(base, '2023-02-15T06:00:00Z').has(ruleId)).toBe(false);
    });
  });

  it('KodeksXmlMissing fires only after more than 2 days of silence, and tells when to look again', () => {
    const at = (now: string) => evaluateInstallation({ installation, state: base, policy: {}, now: new Date(now) });
    const before = at('2023-02-17T06:00:00Z');
    expect(before.firing.has('KodeksXmlMissing')).toBe(false);
    expect(before.recheckAt?.toISOString()).toBe('2023-02-17T06:00:00.001Z');
    const after = at('2023-02-17T06:01:00Z');
    expect(after.firing.get('KodeksXmlMissing')).toMatchObject({ lastReportAt: '2023-02-15T06:00:00.000Z', silentFor: '2d1m' });
  });

  it('KodeksXmlMissing goes by the full state only: heartbeats after the last sysinfo do not hold it off, and it says they came', () => {
    const heartbeats = { ...base, lastReceivedAt: new Date('2023-02-17T05:45:00Z'), lastStatusAt: new Date('2023-02-17T05:45:00Z') };
    expect(firing(heartbeats, '2023-02-17T06:01:00Z').get('KodeksXmlMissing')).toMatchObject({ lastReportAt: '2023-02-15T06:00:00.000Z', lastStatusAt: '2023-02-17T05:45:00.000Z' });
    // An installation that only ever sent heartbeats has never sent its full state: counted from registration.
    const onlyStatus = { lastReceivedAt: new Date('2023-02-17T05:45:00Z'), lastGeneratedAt: null, lastStatusAt: new Date('2023-02-17T05:45:00Z') };
    expect(firing(onlyStatus, '2023-02-17T06:01:00Z').get('KodeksXmlMissing')).toMatchObject({ lastReportAt: null });
  });

  it('KodeksStatusMissing fires an hour after the last heartbeat, only for installations that send them', () => {
    const at = (state: InstallationState, now: string) => evaluateInstallation({ installation, state, policy: {}, now: new Date(now) });
    expect(at(base, '2023-02-16T06:00:00Z').firing.has('KodeksStatusMissing')).toBe(false);
    const beating = { ...base, lastStatusAt: new Date('2023-02-15T06:00:00Z') };
    const before = at(beating, '2023-02-15T07:00:00Z');
    expect(before.firing.has('KodeksStatusMissing')).toBe(false);
    expect(before.recheckAt?.toISOString()).toBe('2023-02-15T07:00:00.001Z');
    expect(at(beating, '2023-02-15T07:05:00Z').firing.get('KodeksStatusMissing')).toMatchObject({ lastStatusAt: '2023-02-15T06:00:00.000Z', silentFor: '1h5m' });
  });

  it('KodeksXmlMissing counts from registration for an installation that never reported', () => {
    expect(firing(null, '2023-02-03T00:00:00Z').has('KodeksXmlMissing')).toBe(false);
    expect(firing(null, '2023-02-03T00:01:00Z').get('KodeksXmlMissing')).toMatchObject({ lastReportAt: null });
  });

  it('KodeksOperapStale counts from the start of the operap day at the client', () => {
    const state = { ...base, operapDate: '2023-02-14' };
    // 14.02 00:00 Moscow is 13.02 21:00 UTC; three days later is 16.02 21:00 UTC.
    expect(firing(state, '2023-02-16T21:00:00Z').has('KodeksOperapStale')).toBe(false);
    expect(firing(state, '2023-02-16T21:01:00Z').get('KodeksOperapStale')).toMatchObject({ operapDate: '2023-02-14', ageDays: 3 });
  });

  it('honours a per-installation threshold override', () => {
    const relaxed = { ...installation, thresholds: { KodeksXmlMissing: 5 * DAY } };
    const result = evaluateInstallation({ installation: relaxed, state: base, policy: {}, now: new Date('2023-02-18T06:00:00Z') });
    expect(result.firing.has('KodeksXmlMissing')).toBe(false);
  });

  it('KodeksShellVersionOutdated compares versions part by part against the fleet minimum', () => {
    const state = { ...base, shellVersion: '6.4.2.73' };
    expect(firing(state, '2023-02-15T06:00:00Z').has('KodeksShellVersionOutdated')).toBe(false);
    const policy = { minShellVersion: '6.4.3.59' };
    expect(firing(state, '2023-02-15T06:00:00Z', { policy }).get('KodeksShellVersionOutdated')).toEqual({
      shellVersion: '6.4.2.73',
      minShellVersion: '6.4.3.59',
    });
    expect(firing({ ...base, shellVersion: '6.4.10.1' }, '2023-02-15T06:00:00Z', { policy }).has('KodeksShellVersionOutdated')).toBe(false);
    // An installation pinned to an older version by override.
    const pinned = { ...installation, thresholds: { KodeksShellVersionOutdated: '6.4.2.0' } };
    expect(firing(state, '2023-02-15T06:00:00Z', { policy, installation: pinned }).has('KodeksShellVersionOutdated')).toBe(false);
  });

  describe('KodeksVersionChangeIncomplete', () => {
    const changed: InstallationState = {
      ...base,
      shellVersion: '6.4.3.59',
      previousShellVersion: '6.4.2.73',
      shellVersionChangedAt: new Date('2023-02-15T06:00:00Z'),
      serviceState: 'running',
      dailyUpdate: false,
      copybaseweb: false,
    };

    it('waits 24 hours, then lists exactly what was not restored with both versions', () => {
      expect(firing(changed, '2023-02-16T05:59:00Z').has('KodeksVersionChangeIncomplete')).toBe(false);
      expect(firing(changed, '2023-02-16T06:00:00Z').get('KodeksVersionChangeIncomplete')).toEqual({
        oldVersion: '6.4.2.73',
        newVersion: '6.4.3.59',
        changedAt: '2023-02-15T06:00:00.000Z',
        notRestored: ['dailyUpdate', 'copybaseweb', 'reports'],
        lastReportAt: '2023-02-15T06:00:00.000Z',
      });
    });

    it('names the service, storage and kit when those fail', () => {
      const broken = { ...changed, serviceState: 'stopped' as const, storageReachable: false, kitAssembled: false, dailyUpdate: true, copybaseweb: true, lastReceivedAt: new Date('2023-02-16T05:00:00Z') };
      expect(firing(broken, '2023-02-16T06:00:00Z').get('KodeksVersionChangeIncomplete')?.notRestored).toEqual(['service', 'storage', 'kit']);
    });

    it('is satisfied by a healthy report after the deadline, for good', () => {
      const healthy = { ...changed, dailyUpdate: true, copybaseweb: true, lastReceivedAt: new Date('2023-02-16T07:00:00Z'), lastHealthyAt: new Date('2023-02-16T07:00:00Z') };
      expect(firing(healthy, '2023-02-16T07:00:00Z').has('KodeksVersionChangeIncomplete')).toBe(false);
      // Weeks later a stopped service is KodeksServiceDown's business, not this rule's.
      expect(firing({ ...healthy, serviceState: 'stopped' }, '2023-03-10T00:00:00Z').has('KodeksVersionChangeIncomplete')).toBe(false);
    });
  });

  it('thresholdFor prefers the override, then the policy or the default', () => {
    expect(thresholdFor(getRule('KodeksXmlMissing'), {}, {})).toBe(2 * DAY);
    expect(thresholdFor(getRule('KodeksXmlMissing'), { KodeksXmlMissing: HOUR }, {})).toBe(HOUR);
    expect(thresholdFor(getRule('KodeksShellVersionOutdated'), {}, { minShellVersion: '6.4' })).toBe('6.4');
  });
});

describe('versions and durations', () => {
  it.each([
    ['6.4.3.59', '6.4.2.73', 1],
    ['6.4.10', '6.4.9', 1],
    ['6.4', '6.4.0.0', 0],
    ['6.4.2.73', '6.4.3.59', -1],
  ])('compareVersions(%s, %s) = %i', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
  });

  it('parses and formats durations', () => {
    expect(parseDuration('90m')).toBe(90 * 60_000);
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration('2d')).toBe(2 * DAY);
    expect(formatDuration(2 * DAY + 3 * HOUR)).toBe('2d3h');
    expect(() => parseDuration('soon')).toThrowError(/not a duration/);
    expect(() => parseDuration('5x')).toThrowError(/not a duration/);
  });
});
