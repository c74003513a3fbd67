import { findSilence } from '../core/silences.ts';
import { listFollowUpsDue, listUnannounced } from '../db/incidents.ts';
import type { Queryable } from '../db/open.ts';
import { activeSilences, announce, escalate, holdReason, loadSubject, remind } from './lifecycle.ts';
import type { IncidentSettings } from './settings.ts';

export interface FollowUpSummary {
  announced: number;
  reminded: number;
  escalated: number;
}

/**
 * What time alone makes due for open incidents: announcing those whose
 * silence has ended, reminding about unacknowledged ones, escalating critical
 * ones nobody took. A silence also holds back reminders and escalations.
 */
export function runFollowUps(tx: Queryable, settings: IncidentSettings, now: Date): FollowUpSummary {
  const summary: FollowUpSummary = { announced: 0, reminded: 0, escalated: 0 };
  const silences = activeSilences(tx, now);

  for (const incident of listUnannounced(tx)) {
    const subject = loadSubject(tx, incident.installationId);
    if (holdReason(tx, incident, subject, now, silences)) continue;
    announce(tx, settings, incident, subject, now);
    summary.announced++;
  }

  const escalateBefore = new Date(now.getTime() - settings.escalateAfterMs);
  for (const incident of listFollowUpsDue(tx, now, escalateBefore)) {
    const subject = loadSubject(tx, incident.installationId);
    if (findSilence(silences, { ...subject, ruleId: incident.ruleId }, now)) continue;
    let current = incident;
    if (
      current.severity === 'critical' &&
      current.escalatedAt === null &&
      current.announcedAt !== null &&
      current.announcedAt.getTime() <= escalateBefore.getTime()
    ) {
      current = escalate(tx, settings, current, now);
      summary.escalated++;
    }
    if (current.nextReminderAt !== null && current.nextReminderAt.getTime() <= now.getTime()) {
      remind(tx, settings, current, now);
      summary.reminded++;
    }
  }
  return summary;
}
