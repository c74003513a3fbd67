import { describe, expect, it } from 'vitest';
import type { AgentReport, ReportFacts } from '../core/report.ts';
import { evaluateInstallation, getRule, severityOf, type RuleId } from '../core/rules.ts';
import { daysLeft } from '../core/server-rules.ts';
import { applyReport, type InstallationState } from '../core/state.ts';
import { DAY, HOUR } from './helpers.ts';
import { KNOWN_ERROR_CODES } from '../core/kodeks-errors.ts';
import { texts } from '../i18n/index.ts';

const installation = { createdAt: new Date('2026-01-01T00:00:00Z'), tz: 'Europe/Moscow', thresholds: {} };

const LICENCE_RULES: RuleId[] = ['KodeksLicenseExpiring90day', 'KodeksLicenseExpiring7day', 'KodeksLicenseExpiring2day', 'KodeksLicenseExpired'];

function stateWith(facts: ReportFacts, receivedAt = new Date('2026-11-30T06:00:00Z')): InstallationState {
  return { lastReceivedAt: receivedAt, lastGeneratedAt: receivedAt, ...facts };
}

function judge(state: InstallationState, now: string, thresholds: Record<string, number> = {}) {
  return evaluateInstallation({ installation: { ...installation, thresholds }, state, policy: {}, now: new Date(now) });
}

/** The licence rules firing at a moment: at most one. */
function licenceStage(state: InstallationState, now: string, thresholds: Record<string, number> = {}) {
  const fired = [...judge(state, now, thresholds).firing].filter(([id]) => LICENCE_RULES.includes(id));
  expect(fired.length).toBeLessThanOrEqual(1);
  return fired[0] ?? null;
}

describe('licence terms', () => {
  // Two databases; the soonest term is the one that counts. 05.12 ends at 06.12 00:00 Moscow = 05.12 21:00 UTC.
  const databases = [
    { name: 'Техэксперт: Охрана труда', licenseExpires: '2027-06-30', errors: [] },
    { name: 'Кодекс: Законодательство', licenseExpires: '2026-12-05', errors: [] },
  ];
  const state = stateWith({ databases });

  it('goes through one stage at a time as the soonest term comes near: 90 days, 7, 2, over', () => {
    expect(licenceStage(state, '2026-09-06T20:59:00Z')).toBeNull();
    expect(licenceStage(state, '2026-09-06T21:00:00Z')![0]).toBe('KodeksLicenseExpiring90day');
    expect(licenceStage(state, '2026-11-28T20:59:00Z')![0]).toBe('KodeksLicenseExpiring90day');
    const week = licenceStage(state, '2026-11-30T06:00:00Z')!;
    expect(week).toEqual(['KodeksLicenseExpiring7day', { database: 'Кодекс: Законодательство', expires: '2026-12-05', daysLeft: 5 }]);
    expect(licenceStage(state, '2026-12-03T21:00:00Z')![0]).toBe('KodeksLicenseExpiring2day');
    expect(licenceStage(state, '2026-12-05T20:59:00Z')).toEqual(['KodeksLicenseExpiring2day', expect.objectContaining({ daysLeft: 0 })]);
    expect(licenceStage(state, '2026-12-05T21:00:00Z')).toEqual(['KodeksLicenseExpired', expect.objectContaining({ daysLeft: -1 })]);
  });

  it('says when to look again: the moment the next stage begins', () => {
    const recheck = (now: string) =>
      evaluateInstallation({ installation, state, policy: {}, now: new Date(now) }, LICENCE_RULES.map(getRule)).recheckAt?.toISOString();
    expect(recheck('2026-09-01T00:00:00Z')).toBe('2026-09-06T21:00:00.000Z');
    expect(recheck('2026-12-01T00:00:00Z')).toBe('2026-12-03T21:00:00.000Z');
  });

  it('a renewed term ends every stage; thresholds can be set per installation', () => {
    const renewed = stateWith({ databases: databases.map((db) => ({ ...db, licenseExpires: '2027-12-31' })) });
    expect(licenceStage(renewed, '2026-11-30T06:00:00Z')).toBeNull();
    // Told a month ahead instead of a week: the 90-day notice gives way a month before.
    const month = { KodeksLicenseExpiring7day: 30 * DAY };
    expect(licenceStage(state, '2026-11-30T06:00:00Z', month)![0]).toBe('KodeksLicenseExpiring7day');
    expect(licenceStage(state, '2026-11-06T06:00:00Z', month)![0]).toBe('KodeksLicenseExpiring7day');
    expect(licenceStage(state, '2026-11-06T06:00:00Z')![0]).toBe('KodeksLicenseExpiring90day');
  });

  it('counts days at the client, in its time zone', () => {
    expect(daysLeft('2026-12-05', 'Europe/Moscow', new Date('2026-12-04T20:59:00Z'))).toBe(1);
    expect(daysLeft('2026-12-05', 'Europe/Moscow', new Date('2026-12-04T21:00:00Z'))).toBe(0);
    expect(daysLeft('2026-12-05', 'Asia/Vladivostok', new Date('2026-12-04T14:00:00Z'))).toBe(0);
  });
});

describe('seats', () => {
  it('KodeksLimitsUsers holds while every seat is taken; KodeksDetectOverUserError while a report counts refusals', () => {
    const at = '2026-11-30T06:00:00Z';
    expect(judge(stateWith({ licenseLimit: 10, seatsUsed: 9, licenseExhausted: 0 }), at).firing.has('KodeksLimitsUsers')).toBe(false);
    const full = judge(stateWith({ licenseLimit: 10, seatsUsed: 10, licenseExhausted: 3 }), at).firing;
    expect(full.get('KodeksLimitsUsers')).toEqual({ used: 10, licensed: 10 });
    expect(full.get('KodeksDetectOverUserError')).toEqual({ refused: 3, licensed: 10 });
    const freed = judge(stateWith({ licenseLimit: 10, seatsUsed: 8, licenseExhausted: 0 }), at).firing;
    expect(freed.has('KodeksLimitsUsers') || freed.has('KodeksDetectOverUserError')).toBe(false);
    // Unknown is not full.
    expect(judge(stateWith({ seatsUsed: 10 }), at).firing.has('KodeksLimitsUsers')).toBe(false);
  });
});

describe('database errors', () => {
  const at = '2026-11-30T06:00:00Z';
  const rule = getRule('KodeksDBErrors');

  it('one incident for the installation listing every code; critical when a protection or licence code is among them', () => {
    const facts = judge(
      stateWith({
        databases: [
          { name: 'Законодательство', errors: [696] },
          { name: 'Охрана труда', errors: [] },
        ],
      }),
      at,
    ).firing.get('KodeksDBErrors')!;
    expect(facts).toEqual({ codes: ['696'], databases: ['Законодательство: 696'] });
    expect(severityOf(rule, facts)).toBe('warning');
    const protection = judge(
      stateWith({
        databases: [
          { name: 'Законодательство', errors: [4111, 696] },
          { name: 'Охрана труда', errors: [4111] },
        ],
        licmanState: 'unreachable',
        licmanHost: '10.0.0.5',
      }),
      at,
    ).firing.get('KodeksDBErrors')!;
    expect(protection).toEqual({ codes: ['696', '4111'], databases: ['Законодательство: 696, 4111', 'Охрана труда: 4111'], licmanUnreachable: '10.0.0.5:8888' });
    expect(severityOf(rule, protection)).toBe('critical');
    for (const code of [4111, 4118, 51, 2007, 2010, 2020, 2021]) expect(severityOf(rule, { codes: [String(code)] }), String(code)).toBe('critical');
    for (const code of [2008, 696, 600, 793]) expect(severityOf(rule, { codes: [String(code)] }), String(code)).toBe('warning');
    expect(judge(stateWith({ databases: [{ name: 'Законодательство', errors: [] }] }), at).firing.has('KodeksDBErrors')).toBe(false);
  });

  it('says what every code of the vendor\'s table means, in both languages', () => {
    for (const lang of ['ru', 'en'] as const) expect(Object.keys(texts(lang).dbErrorCodes).map(Number).sort((a, b) => a - b)).toEqual([...KNOWN_ERROR_CODES]);
  });

  it('a key alert names the licence manager out of reach as its probable cause', () => {
    const facts = judge(stateWith({ senselockState: 'lost', licmanState: 'unreachable', licmanHost: 'lm.local', licmanPort: 8889 }), at).firing.get('KodeksXmlSensLockStatus');
    expect(facts).toEqual({ senselockState: 'lost', licmanUnreachable: 'lm.local:8889' });
    expect(judge(stateWith({ senselockState: 'lost', licmanState: 'ok' }), at).firing.get('KodeksXmlSensLockStatus')).toEqual({ senselockState: 'lost' });
  });
});

describe('the server state', () => {
  const report = (facts: ReportFacts, id: string): AgentReport => ({ reportId: id, contentHash: id, formatVersion: 1, generatedAt: null, facts });

  it('times maintenance in a row from the first report that says so; KodeksMaintenanceToLong after 3 hours', () => {
    const t0 = new Date('2026-11-30T06:00:00Z');
    let state = applyReport(null, report({ serverState: 'maintenance', serverMessage: 'Идёт обновление' }, 'a'), t0);
    state = applyReport(state, report({ serverState: 'maintenance', serverMessage: 'Идёт обновление' }, 'b'), new Date(t0.getTime() + 2 * HOUR));
    expect(state.maintenanceSince).toEqual(t0);
    const early = judge(state, '2026-11-30T09:00:00Z');
    expect(early.firing.get('KodeksMaintenance')).toEqual({ message: 'Идёт обновление', since: t0.toISOString() });
    expect(early.firing.has('KodeksMaintenanceToLong')).toBe(false);
    expect(early.recheckAt?.toISOString()).toBe('2026-11-30T09:00:00.001Z');
    expect(judge(state, '2026-11-30T09:00:01Z').firing.get('KodeksMaintenanceToLong')).toEqual({ since: t0.toISOString(), message: 'Идёт обновление', threshold: '3h' });
    // Out of maintenance and back: the clock starts again.
    // A <server> without a message reads as an empty one, so the earlier words go.
    state = applyReport(state, report({ serverState: 'ok', serverMessage: '' }, 'c'), new Date(t0.getTime() + 4 * HOUR));
    expect(state.maintenanceSince).toBeUndefined();
    expect(state.serverMessage).toBe('');
    state = applyReport(state, report({ serverState: 'maintenance' }, 'd'), new Date(t0.getTime() + 5 * HOUR));
    expect(state.maintenanceSince).toEqual(new Date(t0.getTime() + 5 * HOUR));
  });

  it('need-support, an emergency and not-started each have their rule', () => {
    const at = '2026-11-30T06:00:00Z';
    expect(judge(stateWith({ serverState: 'need-support', serverMessage: 'Нужна помощь' }), at).firing.get('KodeksNeedSupport')).toEqual({ message: 'Нужна помощь' });
    expect(judge(stateWith({ serverState: 'warning', serverMessage: '' }), at).firing.get('KodeksWarning')).toEqual({ message: null });
    expect(judge(stateWith({ serverState: 'not-started' }), at).firing.get('KodeksServiceDown')).toEqual({ serviceState: 'not-started', serviceAccount: null });
    const fine = judge(stateWith({ serverState: 'ok' }), at).firing;
    for (const id of ['KodeksNeedSupport', 'KodeksWarning', 'KodeksMaintenance', 'KodeksServiceDown'] as const) expect(fine.has(id)).toBe(false);
  });
});
