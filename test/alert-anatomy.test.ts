import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderAlert } from '../bot/render/alert.ts';
import { PROBE_RULES } from '../core/probe-rules.ts';
import { RULES, type Facts, type Severity } from '../core/rules.ts';
import { severityMark } from '../core/vocabulary.ts';
import type { IncidentView } from '../db/incidents.ts';
import { texts } from '../i18n/index.ts';
import { describeMetricsError, describeNetworkError } from '../i18n/network.ts';
import { formatWhen } from '../i18n/format.ts';
import { ROOT } from './cli-helpers.ts';
import { incidentView } from './incident-views.ts';

const NOW = new Date('2026-11-30T18:00:00Z'); // 21:00 in Moscow
const TZ = 'Europe/Moscow';

/** Facts as each rule records them when it fires. */
const FACTS: Record<string, Facts> = {
  KodeksXmlMissing: { lastReportAt: '2026-11-27T18:00:00.000Z', silentFor: '3d', threshold: '2d' },
  KodeksStatusMissing: { lastStatusAt: '2026-11-30T06:00:00.000Z', silentFor: '1h30m', threshold: '1h' },
  KodeksOperapStale: { operapDate: '2026-11-26', ageDays: 4, threshold: '3d' },
  KodeksXmlSensLockStatus: { senselockState: 'lost' },
  KodeksServiceDown: { serviceState: 'stopped', serviceAccount: 'system' },
  KodeksStorageUnreachable: { storagePath: '\\\\nas\\kodeks', serviceAccount: 'system' },
  KodeksKitNotAssembled: { kitAssembled: false },
  KodeksDailyUpdateOff: { dailyUpdate: false, copybaseweb: true },
  KodeksShellVersionOutdated: { shellVersion: '6.4.2.73', minShellVersion: '6.4.3.59' },
  KodeksVersionChangeIncomplete: { oldVersion: '6.4.2.73', newVersion: '6.4.3.59', changedAt: '2026-11-29T07:00:00.000Z', notRestored: ['service', 'storage'] },
  KodeksIcmp: { target: '10.1.2.3', error: 'no answer', failures: 5, failingSince: '2026-11-30T17:55:00.000Z' },
  KodeksBehindProxyDown: { url: 'https://romashka.example.ru/', error: 'ENOTFOUND', failures: 2, failingSince: '2026-11-30T17:58:00.000Z', workingUrl: 'https://10.1.2.3/', ipError: null },
  KodeksTcpStatus: { target: '10.1.2.3:443', error: 'TCP 10.1.2.3:443: ECONNREFUSED', failures: 2, failingSince: '2026-11-30T17:58:00.000Z' },
  KodeksHttp200Status: { url: 'https://romashka.example.ru/', status: 500, error: 'HTTP 500', failures: 2, failingSince: '2026-11-30T17:58:00.000Z' },
  KodeksDns: { host: 'romashka.example.ru', error: 'romashka.example.ru does not resolve: ESERVFAIL', expectedIp: '10.1.2.3', resolved: [], failingSince: '2026-11-30T17:58:00.000Z' },
  KodeksLicenseExpiring90day: { database: 'Кодекс: Законодательство', expires: '2027-02-01', daysLeft: 63 },
  KodeksLicenseExpiring7day: { database: 'Кодекс: Законодательство', expires: '2026-12-05', daysLeft: 5 },
  KodeksLicenseExpiring2day: { database: 'Кодекс: Законодательство', expires: '2026-12-01', daysLeft: 1 },
  KodeksLicenseExpired: { database: 'Кодекс: Законодательство', expires: '2026-11-27', daysLeft: -3 },
  KodeksLimitsUsers: { used: 10, licensed: 10 },
  KodeksDetectOverUserError: { refused: 3, licensed: 10 },
  KodeksDBErrors: { codes: ['696', '4111'], databases: ['Кодекс: Законодательство: 696, 4111'], licmanUnreachable: '10.0.0.5:8888' },
  KodeksMaintenance: { message: 'Идёт обновление', since: '2026-11-30T14:00:00.000Z' },
  KodeksMaintenanceToLong: { message: 'Идёт обновление', since: '2026-11-30T14:00:00.000Z', threshold: '3h' },
  KodeksNeedSupport: { message: 'Требуется обслуживание специалистом' },
  KodeksWarning: { message: 'Аварийный режим' },
  KodeksAuthNotWork: { account: 'smartlogin' },
  LicmanIcmp: { target: '10.0.0.5', error: 'no answer', failures: 2, failingSince: '2026-11-30T17:58:00.000Z' },
  LicmanTcpStatus: { target: '10.0.0.5:8888', error: 'TCP 10.0.0.5:8888: ECONNREFUSED', failures: 2, failingSince: '2026-11-30T17:58:00.000Z' },
};

const ALL_RULES = [...RULES, ...PROBE_RULES];

function viewOf(ruleId: string, severity: Severity): IncidentView {
  return incidentView({ ruleId, severity, details: FACTS[ruleId]! });
}

describe('the anatomy of an alert', () => {
  for (const lang of ['ru', 'en'] as const) {
    it(`is the same for every rule, in ${lang}: what and where, how bad, since when, the facts, what to do; the rule id behind «Подробнее»`, () => {
      const t = texts(lang);
      for (const rule of ALL_RULES) {
        expect(FACTS[rule.id], `facts for ${rule.id}`).toBeDefined();
        const { text, keyboard } = renderAlert(viewOf(rule.id, rule.severity), { lang, tz: TZ, now: NOW, runbookUrl: () => null });
        const lines = text.split('\n');
        expect(lines[0], rule.id).toBe(`${severityMark(rule.severity)} <b>${(t.rules as Record<string, string>)[rule.id]}</b>`);
        expect(lines[1], rule.id).toBe('🏢 <b>ООО «Ромашка»</b> · Сервер офиса');
        const guide = (t.guides as Record<string, { impact: string; steps: string[] }>)[rule.id]!;
        expect(lines[2], rule.id).toBe(`<b>${t.severityWord[rule.severity]}.</b> ${guide.impact}`);
        expect(lines[3], rule.id).toMatch(lang === 'ru' ? /^⏱ Началось (сегодня|вчера|\d\d\.\d\d)[ ,]/ : /^⏱ Began (today|yesterday|\d\d\.\d\d)[ ,]/);
        const todo = lines.indexOf(`<b>${t.whatToDo}</b>`);
        expect(todo, rule.id).toBeGreaterThan(4);
        expect(guide.steps.length, rule.id).toBeGreaterThanOrEqual(2);
        expect(lines.slice(todo + 1, todo + 1 + guide.steps.length)).toEqual(guide.steps.map((step, i) => `${i + 1}. ${step.replaceAll('<', '&lt;').replaceAll('>', '&gt;')}`));
        // Developer words stay out of the text: the rule's id is one tap away.
        expect(text, rule.id).not.toContain(rule.id);
        expect(keyboard?.inline_keyboard.flat().at(-1), rule.id).toEqual({ text: t.detailsButton, callback_data: expect.stringMatching(/^more:\d+$/) });
        expect(text.length, rule.id).toBeLessThan(4096);
        expect(text, rule.id).not.toMatch(/undefined|NaN|\[object/);
      }
    });
  }

  it('counts since from the evidence, not from when the rule fired', () => {
    const since = (ruleId: string) => renderAlert(viewOf(ruleId, 'warning'), { lang: 'ru', tz: TZ, now: NOW, runbookUrl: () => null }).text.split('\n')[3];
    expect(since('KodeksXmlMissing')).toBe('⏱ Началось 27.11 в 21:00, длится 3 дня');
    expect(since('KodeksOperapStale')).toBe('⏱ Началось 26.11, длится 4 дня 21 час');
    expect(since('KodeksVersionChangeIncomplete')).toBe('⏱ Началось вчера в 10:00, длится 1 день 11 часов');
    expect(since('KodeksIcmp')).toBe('⏱ Началось сегодня в 20:55, длится 5 минут');
    expect(since('KodeksServiceDown')).toBe('⏱ Началось сегодня в 20:59, длится 1 минуту');
  });

  it('dates the facts the way it dates the start: no year of this year anywhere in the message', () => {
    const text = (ruleId: string) => renderAlert(viewOf(ruleId, 'warning'), { lang: 'ru', tz: TZ, now: NOW, runbookUrl: () => null }).text;
    expect(text('KodeksXmlMissing')).toContain('Последний sysinfo или отчёт агента: 27.11 в 21:00 (3 дня назад)');
    expect(text('KodeksOperapStale')).toContain('Последний операп: 26.11 (4 дня назад)');
    expect(text('KodeksVersionChangeIncomplete')).toContain('Версия ПК сменилась: 6.4.2.73 → 6.4.3.59 (вчера в 10:00)');
    for (const rule of ALL_RULES) expect(text(rule.id), rule.id).not.toMatch(/\d\d\.\d\d\.2026/);
  });

  it('writes the year only when it is not this year', () => {
    expect(formatWhen('ru', new Date('2025-12-31T09:00:00Z'), NOW, TZ)).toBe('31.12.2025 в 12:00');
    expect(formatWhen('ru', new Date('2026-01-02T09:00:00Z'), NOW, TZ)).toBe('02.01 в 12:00');
  });

  it('says network failures in words', () => {
    const words = (error: string) => describeNetworkError('ru', error);
    expect(words('ENOTFOUND')).toBe('имя не находится в DNS');
    expect(words('romashka.example.ru does not resolve: ESERVFAIL')).toBe('DNS-сервер не смог ответить');
    expect(words('romashka.example.ru resolves to 10.9.9.9, not 10.1.2.3')).toBe('имя указывает на 10.9.9.9, а не на 10.1.2.3');
    expect(words('timed out after 5000 ms')).toBe('нет ответа за 5 с');
    expect(words('timed out after 2500 ms')).toBe('нет ответа за 2,5 с');
    expect(words('HTTP 502')).toBe('сервер ответил ошибкой 502');
    expect(words('TCP 10.1.2.3:443: ECONNREFUSED')).toBe('порт 10.1.2.3:443: соединение отклонено (порт закрыт)');
    expect(words('no answer (5003 ms)')).toBe('нет ответа');
    expect(words('CERT_HAS_EXPIRED')).toBe('сертификат HTTPS не принят');
    expect(words('EWHATEVER')).toBe('сетевая ошибка EWHATEVER');
    const metrics = (error: string) => describeMetricsError('ru', error);
    expect(metrics('http://10.1.2.3/sysmon/metrics refused the account smartlogin (HTTP 401)')).toBe(
      'сервер Кодекс не принял учётную запись smartlogin: проверьте пароль и права на метрики',
    );
    expect(metrics('http://10.1.2.3/sysmon/metrics: no answer within 0.2 s')).toBe('нет ответа за 0,2 с');
    expect(metrics('http://10.1.2.3/sysmon/metrics: ECONNREFUSED')).toBe('соединение отклонено (порт закрыт)');
    expect(metrics('http://10.1.2.3/sysmon/metrics answered HTTP 503')).toBe('сервер ответил ошибкой 503');
    expect(metrics('not in the Prometheus text format: Invalid line')).toBe('в файле не метрики');
    const dns = renderAlert(viewOf('KodeksDns', 'warning'), { lang: 'ru', tz: TZ, now: NOW, runbookUrl: () => null }).text;
    expect(dns).toContain('Имя romashka.example.ru: DNS-сервер не смог ответить');
    expect(dns).not.toContain('ESERVFAIL');
  });

  it('keeps each runbook in step with its alert: «Что делать» begins with the steps the alert gives', () => {
    const ru = texts('ru');
    for (const rule of ALL_RULES) {
      const runbook = readFileSync(join(ROOT, 'docs/alerts', `${rule.id}.md`), 'utf8');
      const section = runbook.slice(runbook.indexOf('## Что делать'));
      expect(runbook.indexOf('## Что делать'), rule.id).toBeGreaterThan(0);
      const listed = [...section.matchAll(/^\d+\. (.+)$/gm)].map((m) => m[1]!.replaceAll('`', ''));
      const steps = (ru.guides as Record<string, { steps: string[] }>)[rule.id]!.steps;
      expect(listed.slice(0, steps.length), rule.id).toEqual(steps);
    }
  });
});
