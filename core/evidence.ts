import { DateTime } from 'luxon';
import type { Facts } from './rules.ts';

/** When a problem began, and whether only its day is known (an operap date). */
export interface ProblemStart {
  at: Date;
  dayOnly: boolean;
}

const instant = (value: unknown): Date | null => {
  if (typeof value !== 'string') return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : at;
};

/**
 * When the problem an incident is about began, from its evidence rather than
 * from when the rule fired: the last report for silence, the last operap's
 * day for stale operaps, the version change for an unfinished one, the first
 * failed probe for the network, the first sign of maintenance. Otherwise the
 * report that showed it, which is when the incident opened.
 */
export function problemStart(ruleId: string, facts: Facts, openedAt: Date, tz: string): ProblemStart {
  switch (ruleId) {
    case 'KodeksXmlMissing':
      return { at: instant(facts.lastReportAt) ?? openedAt, dayOnly: false };
    case 'KodeksOperapStale': {
      const day = typeof facts.operapDate === 'string' ? DateTime.fromISO(facts.operapDate, { zone: tz }) : null;
      return day?.isValid ? { at: day.startOf('day').toJSDate(), dayOnly: true } : { at: openedAt, dayOnly: false };
    }
    case 'KodeksVersionChangeIncomplete':
      return { at: instant(facts.changedAt) ?? openedAt, dayOnly: false };
    case 'KodeksMaintenance':
    case 'KodeksMaintenanceToLong':
      return { at: instant(facts.since) ?? openedAt, dayOnly: false };
    default:
      return { at: instant(facts.failingSince) ?? openedAt, dayOnly: false };
  }
}
