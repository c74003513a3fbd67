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
