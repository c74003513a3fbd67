import { DateTime } from 'luxon';
import type { RuleId } from './rules.ts';

/**
 * A silence holds back announcements for what it matches, between its start and
 * end. Every matcher that is set must match: an installation, a whole client,
 * one rule, or a combination (one rule at one client).
 */
export interface Silence {
  id: number;
  installationId: number | null;
  clientId: number | null;
  ruleId: string | null;
  startsAt: Date;
  endsAt: Date;
}

export interface AlertScope {
  installationId: number;
  clientId: number;
  ruleId: RuleId | string;
}

export function silenceMatches(silence: Silence, scope: AlertScope, now: Date): boolean {
  if (now.getTime() < silence.startsAt.getTime() || now.getTime() >= silence.endsAt.getTime()) return false;
  if (silence.installationId !== null && silence.installationId !== scope.installationId) return false;
  if (silence.clientId !== null && silence.clientId !== scope.clientId) return false;
  if (silence.ruleId !== null && silence.ruleId !== scope.ruleId) return false;
  return true;
}

export function findSilence(silences: readonly Silence[], scope: AlertScope, now: Date): Silence | undefined {
  return silences.find((s) => silenceMatches(s, scope, now));
}

/** Where the snooze buttons put an alert off to: an hour from now, or the next `morningHour` o'clock in `tz`. */
export function snoozeEnd(choice: 'hour' | 'morning', now: Date, tz: string, morningHour: number): Date {
  const local = DateTime.fromJSDate(now).setZone(tz);
  let until = choice === 'hour' ? local.plus({ hours: 1 }) : local.set({ hour: morningHour, minute: 0, second: 0, millisecond: 0 });
  if (until <= local) until = until.plus({ days: 1 });
  return until.toJSDate();
}

const HOUR_MS = 3_600_000;

/**
 * Whether a wait puts a critical alert off (asked about first, and its
 * witnesses told) rather than only reminding of it: anything past an hour,
 * and always a wait till a moment named («до утра», «до понедельника»),
 * however near it is (at 08:30 «до утра» is 09:00).
 */
export function putsOff(endsAt: Date, now: Date, tillNamedMoment: boolean): boolean {
  return tillNamedMoment || endsAt.getTime() - now.getTime() > HOUR_MS;
}
