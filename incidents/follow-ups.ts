import { findSilence } from '../core/silences.ts';
import { listFollowUpsDue, listUnannounced } from '../db/incidents.ts';
import type { Queryable } from '../db/open.ts';
import { activeSilences, announce, escalate, holdReason, loadSubject, remind } from './lifecycle.ts';
import type { IncidentSettings } from './settings.ts';
import { savepoint } from '../db/transaction.ts';

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
export async function runFollowUps(
  tx: Queryable,
  settings: IncidentSettings,
  now: Date,
  onFailure: (incidentId: number, err: unknown) => void = (_id, err) => {
    throw err;
  },
): Promise<FollowUpSummary> {
  const summary: FollowUpSummary = { announced: 0, reminded: 0, escalated: 0 };
  const silences = await activeSilences(tx, now);
  // Each incident in a savepoint of its own: one that cannot be handled is undone and reported, the others go on.
  const each = async (incidentId: number, work: (sp: Queryable, done: FollowUpSummary) => Promise<void>): Promise<void> => {
    const done: FollowUpSummary = { announced: 0, reminded: 0, escalated: 0 };
    try {
      await savepoint(tx, (sp) => work(sp, done));
    } catch (err) {
      onFailure(incidentId, err);
      return;
    }
    summary.announced += done.announced;
    summary.reminded += done.reminded;
    summary.escalated += done.escalated;
  };

  for (const incident of await listUnannounced(tx)) {
    await each(incident.id, async (sp, done) => {
      const subject = await loadSubject(sp, incident.installationId);
      if (await holdReason(sp, incident, subject, now, silences)) return;
      await announce(sp, settings, incident, subject, now);
      done.announced++;
    });
  }

  const escalateBefore = new Date(now.getTime() - settings.escalateAfterMs);
  for (const incident of await listFollowUpsDue(tx, now, escalateBefore)) {
    await each(incident.id, async (sp, done) => {
      const subject = await loadSubject(sp, incident.installationId);
      if (findSilence(silences, { ...subject, ruleId: incident.ruleId }, now)) return;
      let current = incident;
      if (
        current.severity === 'critical' &&
        current.escalatedAt === null &&
        current.announcedAt !== null &&
        current.announcedAt.getTime() <= escalateBefore.getTime()
      ) {
        current = await escalate(sp, settings, current, now);
        done.escalated++;
      }
      if (current.nextReminderAt !== null && current.nextReminderAt.getTime() <= now.getTime()) {
        await remind(sp, settings, current, now);
        done.reminded++;
      }
    });
  }
  return summary;
}
