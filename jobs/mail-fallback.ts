import type { Logger } from 'pino';
import { loadAudience, mailable } from '../db/audience.ts';
import { getIncident, getSubject, recordIncidentEvent } from '../db/incidents.ts';
import type { DB } from '../db/open.ts';
import { enqueueMailOnce, MAIL_ALERT, markFallenBack, undeliveredCriticalAlerts } from '../db/outbox.ts';
import { writeTransaction } from '../db/transaction.ts';
import { getUser } from '../db/users.ts';

export interface MailFallbackDeps {
  db: DB;
  logger: Logger;
  /** EMAIL_FALLBACK_AFTER: how long a critical alert may wait for Telegram before it goes by mail. */
  afterMs: number;
  /** The service is stopping: the run ends after the alert in hand. */
  signal?: AbortSignal;
  /** Alerts looked at per read of the outbox. */
  batch?: number;
}

/**
 * Critical alerts Telegram has not delivered within `afterMs` (the Bot API
 * unreachable, a bot blocked, a chat gone) go by mail: to the person whose
 * private chat it was for, or, for a client's group, to the client's
 * responsible manager, if they have an address. The same holds for an
 * escalation to a lead (or an admin) and for the morning call: each calls
 * that person to the incident. Once per person and incident, whatever
 * happens later: the Telegram message still goes when Telegram takes it,
 * and says the alert went by mail too. Warnings do not fall back: the digest
 * lists them.
 */
export async function runMailFallback(deps: MailFallbackDeps, now: Date): Promise<{ mailed: number }> {
  const { db, logger } = deps;
  let mailed = 0;
  for (;;) {
    const alerts = await undeliveredCriticalAlerts(db, new Date(now.getTime() - deps.afterMs), deps.batch ?? 500);
    for (const alert of alerts) {
      if (deps.signal?.aborted) return { mailed };
      const to = await writeTransaction(db, async (tx) => {
        // Looked at once, whatever comes of it: an alert nobody can be mailed about is not looked at every run.
        await markFallenBack(tx, alert.rowId, now);
        const incident = await getIncident(tx, alert.incidentId);
        if (incident?.status !== 'open') return null;
        const subject = await getSubject(tx, incident.installationId);
        const personId = alert.chatId > 0 ? alert.chatId : ((await loadAudience(tx, subject?.clientId ?? -1)).manager?.telegramId ?? null);
        if (personId === null) return null;
        const person = await getUser(tx, personId);
        // No address, or one the mail server refuses: nothing to send it to.
        if (!person?.active || !mailable(person)) return null;
        const payload = { severity: incident.severity, reason: 'fallback', chatId: alert.chatId };
        if (!(await enqueueMailOnce(tx, MAIL_ALERT, personId, incident.id, payload, now))) return null;
        await recordIncidentEvent(tx, { incidentId: incident.id, at: now, type: 'mailed', actor: 'system', details: { to: personId, reason: 'fallback', chatId: alert.chatId, of: alert.kind } });
        return personId;
      });
      if (to === null) continue;
      mailed++;
      logger.warn({ incidentId: alert.incidentId, chatId: alert.chatId, kind: alert.kind, personId: to }, 'a critical alert Telegram has not delivered goes by mail');
    }
    if (alerts.length < (deps.batch ?? 500)) return { mailed };
  }
}
