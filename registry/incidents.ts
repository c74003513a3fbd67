import { randomUUID } from 'node:crypto';
import { inputError } from '../i18n/index.ts';
import { recordAudit } from '../db/audit.ts';
import { recheckNow } from '../db/check-schedule.ts';
import type { RegistryContext } from './context.ts';
import { acknowledgeIncident, redrawAnnouncements, resolveIncident, tellOfCriticalSnooze, type AcknowledgeResult, type PutOffWitnesses } from '../incidents/lifecycle.ts';
import { putsOff } from '../core/silences.ts';
import { getIncident, getIncidentViews } from '../db/incidents.ts';
import { claimValue } from '../db/key-value.ts';
import { getUser } from '../db/users.ts';
import { actorOf, canAct } from '../core/permissions.ts';
import type { TakeLink } from '../core/take-link.ts';
import { addSilence } from './silences.ts';
import type { Incident } from '../db/incidents.ts';
import { writeTransaction } from '../db/transaction.ts';

/** A person acknowledges an incident (CLI or bot); recorded in the audit log. */
export async function acknowledge(ctx: RegistryContext, incidentId: number): Promise<AcknowledgeResult> {
  return writeTransaction(ctx.db, async (tx) => {
    const now = ctx.clock();
    const result = await acknowledgeIncident(tx, incidentId, ctx.actor, now);
    if (result.outcome === 'acknowledged') {
      await recordAudit(tx, { at: now, actor: ctx.actor, action: 'incident.acknowledge', subjectType: 'incident', subjectId: incidentId });
    }
    return result;
  });
}

/** Incidents acknowledged in one transaction by `acknowledgeMany`, between which the event loop is free. */
const ACKNOWLEDGE_CHUNK = 200;

/**
 * A person takes many incidents at once («Беру все» under a storm's message):
 * each as `acknowledge` does, in transactions of a few hundred with the event
 * loop free between them, so ten thousand hold nothing else up. How many this
 * person acknowledged (those taken already by someone are left as they are).
 */
export async function acknowledgeMany(ctx: RegistryContext, incidentIds: readonly number[]): Promise<number> {
  let acknowledged = 0;
  for (let start = 0; start < incidentIds.length; start += ACKNOWLEDGE_CHUNK) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    acknowledged += await writeTransaction(ctx.db, async (tx) => {
      const now = ctx.clock();
      let n = 0;
      for (const incidentId of incidentIds.slice(start, start + ACKNOWLEDGE_CHUNK)) {
        if ((await acknowledgeIncident(tx, incidentId, ctx.actor, now)).outcome !== 'acknowledged') continue;
        await recordAudit(tx, { at: now, actor: ctx.actor, action: 'incident.acknowledge', subjectType: 'incident', subjectId: incidentId });
        n++;
      }
      return n;
    });
  }
  return acknowledged;
}

/**
 * A person closes an incident. If its condition still holds, the next check
 * opens a new one: the installation is re-checked at the next sweep.
 */
export async function resolveByHand(ctx: RegistryContext, incidentId: number): Promise<Incident> {
  return writeTransaction(ctx.db, async (tx) => {
    const now = ctx.clock();
    const incident = await resolveIncident(tx, incidentId, ctx.actor, 'manual', now);
    await recheckNow(tx, incident.installationId, now);
    await recordAudit(tx, { at: now, actor: ctx.actor, action: 'incident.resolve', subjectType: 'incident', subjectId: incidentId });
    return incident;
  });
}

/**
 * Put off an incident's alert (its installation and rule) until `endsAt`, as
 * the snooze buttons do, and redraw the messages that announced it, which
 * then say until when and by whom. A critical one put off (past an hour, or
 * till morning however near: core/silences.ts `putsOff`) is told to its
 * witnesses; who they were (null: nobody). One transaction.
 */
export async function snoozeIncident(
  ctx: RegistryContext,
  incidentId: number,
  snooze: { endsAt: Date; reason: string; tz: string; tillMorning: boolean },
): Promise<PutOffWitnesses | null> {
  return writeTransaction(ctx.db, async (tx) => {
    const incident = await getIncident(tx, incidentId);
    if (!incident || incident.status === 'resolved') throw inputError('incidentResolved', { id: incidentId });
    // Nested in this transaction: its own becomes a savepoint of it.
    await addSilence(ctx, { installation: incident.installationId, rule: incident.ruleId, endsAt: snooze.endsAt, reason: snooze.reason, tz: snooze.tz });
    const now = ctx.clock();
    await redrawAnnouncements(tx, incident, now);
    // An hour's wait is a reminder; anything longer, or till morning, of a critical is the lead's business too.
    return putsOff(snooze.endsAt, now, snooze.tillMorning) ? tellOfCriticalSnooze(tx, incident, ctx.actor, snooze.endsAt, now) : null;
  });
}

/** What a «Беру» link from an alert mail did. */
export type MailTakeOutcome =
  | { outcome: 'acknowledged' | 'already'; incident: Incident }
  | { outcome: 'resolved' | 'used' | 'forbidden' | 'notFound' };

/**
 * The person a mail's «Беру» link was made for takes the incident: once (the
 * link is spent, whatever the outcome), while the incident is open, and only
 * while they may act on it (as a button checks). Taken, denied, spent or too
 * late: each is in the audit log. The Telegram messages are redrawn as after
 * the button.
 */
export async function acknowledgeByMailLink(ctx: Omit<RegistryContext, 'actor'>, link: TakeLink): Promise<MailTakeOutcome> {
  const actor = actorOf(link.personId);
  return writeTransaction(ctx.db, async (tx) => {
    const now = ctx.clock();
    const [view] = await getIncidentViews(tx, [link.incidentId]);
    if (!view) return { outcome: 'notFound' };
    const person = await getUser(tx, link.personId);
    if (!canAct(person, view)) {
      await recordAudit(tx, { at: now, actor, action: 'incident.acknowledge.denied', subjectType: 'incident', subjectId: link.incidentId, details: { via: 'mail link' } });
      return { outcome: 'forbidden' };
    }
    const refused = async (why: 'resolved' | 'used') => {
      await recordAudit(tx, { at: now, actor, action: 'incident.acknowledge.refused', subjectType: 'incident', subjectId: link.incidentId, details: { via: 'mail link', why } });
      return { outcome: why };
    };
    if (view.incident.status === 'resolved') return refused('resolved');
    const spent = `mail-take:${link.incidentId}:${link.personId}`;
    const mine = randomUUID();
    if ((await claimValue(tx, spent, mine, now)) !== mine) return refused('used');
    const result = await acknowledgeIncident(tx, link.incidentId, actor, now);
    if (result.outcome === 'acknowledged') {
      await recordAudit(tx, { at: now, actor, action: 'incident.acknowledge', subjectType: 'incident', subjectId: link.incidentId, details: { via: 'mail link' } });
    }
    return result;
  });
}
