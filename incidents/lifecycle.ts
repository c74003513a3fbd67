import { massRuleOf } from '../core/external-alerts.ts';
import type { Resolution } from '../core/incidents.ts';
import { channelOf, channelsFor, recipientsFor, type Audience, type AnnouncementKind } from '../core/routing.ts';
import { canWait } from '../core/dependencies.ts';
import { holdOf } from '../core/holds.ts';
import type { Facts, Severity } from '../core/rules.ts';
import { quietUntil } from '../core/quiet-hours.ts';
import type { Silence } from '../core/silences.ts';
import { loadAudience } from '../db/audience.ts';
import {
  countOpenedBetween,
  getIncident,
  getSubject,
  hasCriticalOpenedAt,
  insertIncident,
  listActiveIncidents,
  listUnsentNoticesSince,
  recordIncidentEvent,
  updateIncident,
  type Incident,
} from '../db/incidents.ts';
import type { Queryable } from '../db/open.ts';
import { CRITICAL_SNOOZED, enqueue, enqueueMailOnce, MAIL_ALERT, MAIL_RESOLVED, mailedAlertRecipients, withdrawUnsentOpening } from '../db/outbox.ts';
import { listActiveSilences, toSilence } from '../db/silences.ts';
import { getQuietHours, getUserName } from '../db/users.ts';
import type { IncidentSettings } from './settings.ts';
import { inputError, notFound, ruleTitle } from '../i18n/index.ts';

/** Names an announcement needs, looked up once per incident. */
export interface Subject {
  installationId: number;
  installationName: string;
  clientId: number;
  clientName: string;
}

export async function loadSubject(db: Queryable, installationId: number): Promise<Subject> {
  const subject = await getSubject(db, installationId);
  if (!subject) throw notFound('installationNotFound', { ref: String(installationId) });
  return subject;
}

export async function activeSilences(db: Queryable, now: Date): Promise<Silence[]> {
  return (await listActiveSilences(db, now)).map(toSilence);
}

/**
 * What announcing many incidents at one moment would otherwise look up for
 * each (a webhook of thousands of alerts for a few chats): who hears of a
 * client's incidents, and when a chat's quiet hours end. Made for one such
 * batch (a webhook, judged as of its arrival) and dropped with it: a change
 * to a client's people made meanwhile counts from the next.
 */
export class AnnouncementLookups {
  readonly audiences = new Map<number, Audience>();
  readonly quietEnds = new Map<number, Date | null>();
}

/**
 * Open an incident and, unless a silence holds it back, announce it. Must run
 * inside the transaction that observed the condition, so the incident and its
 * announcement are written together. `lookups`: shared by the many openings
 * of one batch (a webhook).
 */
export async function openIncident(
  tx: Queryable,
  settings: IncidentSettings,
  subject: Subject,
  opening: { ruleId: string; severity: Severity; facts: Facts },
  now: Date,
  silences: readonly Silence[],
  lookups?: AnnouncementLookups,
): Promise<Incident> {
  // What holds it back is judged first, so an incident announced at once is written announced (one write, not two).
  const hold = opening.severity === 'info' ? null : await holdReason(tx, { installationId: subject.installationId, ruleId: opening.ruleId }, subject, now, silences);
  const announcedNow = opening.severity !== 'info' && !hold;
  const incident = await insertIncident(tx, {
    installationId: subject.installationId,
    ruleId: opening.ruleId,
    severity: opening.severity,
    status: 'open',
    details: opening.facts,
    openedAt: now,
    ...(announcedNow ? { announcedAt: now, nextReminderAt: new Date(now.getTime() + settings.remindEveryMs) } : {}),
  });
  await recordIncidentEvent(tx, { incidentId: incident.id, at: now, type: 'opened', actor: 'system', details: opening.facts });
  // A notice is on record (card, /incidents, digest) and is not sent, unless many installations open it at once.
  if (incident.severity === 'info') {
    await announceMassNotices(tx, settings, massRuleOf(incident.ruleId), now);
    return incident;
  }
  if (hold) {
    await recordIncidentEvent(tx, { incidentId: incident.id, at: now, type: 'held', actor: 'system', details: hold });
    return incident;
  }
  await notify(tx, settings, 'opened', incident, subject, now, lookups);
  await recordIncidentEvent(tx, { incidentId: incident.id, at: now, type: 'announced', actor: 'system' });
  return incident;
}

/**
 * Why an incident must not be announced now: a silence covers it, or the
 * alert follows from another one that is open (no ping, maintenance). Null: announce.
 */
export async function holdReason(
  db: Queryable,
  incident: Pick<Incident, 'installationId' | 'ruleId'>,
  subject: Subject,
  now: Date,
  silences: readonly Silence[],
): Promise<{ silenceId: number } | { inhibitedBy: string } | null> {
  // Only the few rules that can wait need the installation's open alerts (holdOf asks for them only then).
  const activeRuleIds = canWait(incident.ruleId)
    ? new Set((await listActiveIncidents(db, incident.installationId)).map((i) => i.ruleId))
    : new Set<string>();
  const hold = holdOf({ ...subject, ruleId: incident.ruleId }, silences, () => activeRuleIds, now);
  if (!hold) return null;
  return 'silence' in hold ? { silenceId: hold.silence.id } : { inhibitedBy: hold.cause };
}

/**
 * Many installations opening the same notice within one grouping window are
 * news of their own (a vendor update sending 35 servers into maintenance):
 * once there are `massEvent.min` of them, each is sent (and those that come
 * later in the window), and delivery folds them into one message per chat.
 * They stay notices: not announced, so never reminded, escalated or said to end.
 * `massRule` is the rule they count under (`massRuleOf`).
 */
async function announceMassNotices(tx: Queryable, settings: IncidentSettings, massRule: string, now: Date): Promise<void> {
  const mass = settings.massEvent;
  if (!mass) return;
  const since = new Date(now.getTime() - mass.windowMs);
  if ((await countOpenedBetween(tx, massRule, since, now)) < mass.min) return;
  for (const notice of await listUnsentNoticesSince(tx, massRule, since)) {
    await notify(tx, null, 'opened', notice, await loadSubject(tx, notice.installationId), now);
    await recordIncidentEvent(tx, { incidentId: notice.id, at: now, type: 'mass', actor: 'system' });
  }
}

/** Tell people about an incident held back so far, for the first time (its silence ended, its cause closed). */
export async function announce(tx: Queryable, settings: IncidentSettings, incident: Incident, subject: Subject, now: Date): Promise<Incident> {
  const announced = await updateIncident(tx, incident.id, {
    announcedAt: now,
    nextReminderAt: new Date(now.getTime() + settings.remindEveryMs),
  });
  await notify(tx, settings, 'opened', announced, subject, now);
  await recordIncidentEvent(tx, { incidentId: incident.id, at: now, type: 'announced', actor: 'system' });
  return announced;
}

/**
 * What an open incident is about changed while its condition still holds (a
 * new error code on a database): its facts and severity follow, and the
 * messages that announced it are redrawn.
 */
export async function updateIncidentFacts(tx: Queryable, incident: Incident, opening: { severity: Severity; facts: Facts }, now: Date): Promise<Incident> {
  const updated = await updateIncident(tx, incident.id, { details: opening.facts, severity: opening.severity });
  await recordIncidentEvent(tx, { incidentId: incident.id, at: now, type: 'updated', actor: 'system', details: opening.facts });
  if (updated.announcedAt) await notify(tx, null, 'updated', updated, await loadSubject(tx, incident.installationId), now);
  return updated;
}

/**
 * Redraw the messages that announced an incident, from its state now (after
 * a snooze, they say until when and by whom): nothing is sent for an
 * incident nobody was told of.
 */
export async function redrawAnnouncements(tx: Queryable, incident: Incident, now: Date): Promise<void> {
  if (incident.announcedAt) await notify(tx, null, 'updated', incident, await loadSubject(tx, incident.installationId), now);
}

/**
 * Who hears that a critical alert of a client was put off by `actor`: whoever
 * it would be escalated to (the manager's lead, else the admins), but never
 * the one who put it off (a lead putting off their own team's alert tells
 * nobody). The question before it, the answer after it and the notice itself
 * all come from this, so what is said is what is done. Null: nobody.
 */
export interface PutOffWitnesses {
  to: 'lead' | 'admins';
  chats: number[];
  names: string[];
}

export async function putOffWitnesses(db: Queryable, clientId: number, actor: string): Promise<PutOffWitnesses | null> {
  const audience = await loadAudience(db, clientId);
  const own = /^tg:(\d+)$/.exec(actor);
  const chats = recipientsFor('escalated', audience).filter((chatId) => !own || chatId !== Number(own[1]));
  if (chats.length === 0) return null;
  const names: string[] = [];
  for (const chatId of chats) names.push((await getUserName(db, chatId)) ?? String(chatId));
  return { to: audience.lead?.active ? 'lead' : 'admins', chats, names };
}

/**
 * A critical incident was put off (till morning, say): its witnesses
 * (`putOffWitnesses`) hear it at once, by name and until when, so an
 * overslept key is never one person's quiet decision. On record in the
 * incident's history, with who was told. Who was told (null: nobody, or not a critical).
 */
export async function tellOfCriticalSnooze(tx: Queryable, incident: Incident, actor: string, until: Date, now: Date): Promise<PutOffWitnesses | null> {
  if (incident.severity !== 'critical') return null;
  const subject = await loadSubject(tx, incident.installationId);
  const witnesses = await putOffWitnesses(tx, subject.clientId, actor);
  const payload = { snoozedBy: actor, snoozedByName: await actorName(tx, actor), until: until.toISOString() };
  for (const chatId of witnesses?.chats ?? []) await enqueue(tx, { kind: CRITICAL_SNOOZED, chatId, incidentId: incident.id, payload, urgent: true }, now);
  await recordIncidentEvent(tx, { incidentId: incident.id, at: now, type: 'snoozed', actor, details: { until: until.toISOString(), told: witnesses ?? null } });
  return witnesses;
}

export type AcknowledgeResult =
  | { outcome: 'acknowledged'; incident: Incident }
  | { outcome: 'already'; incident: Incident };

/** Someone takes the incident. A second acknowledgement changes nothing and says who was first. */
export async function acknowledgeIncident(tx: Queryable, incidentId: number, actor: string, now: Date): Promise<AcknowledgeResult> {
  const incident = await requireIncident(tx, incidentId);
  if (incident.status === 'acknowledged') return { outcome: 'already', incident };
  if (incident.status === 'resolved') throw inputError('incidentResolved', { id: incidentId });
  const acknowledged = await updateIncident(tx, incidentId, {
    status: 'acknowledged',
    acknowledgedAt: now,
    acknowledgedBy: actor,
    nextReminderAt: null,
  });
  await recordIncidentEvent(tx, { incidentId, at: now, type: 'acknowledged', actor });
  if (acknowledged.announcedAt) await notify(tx, null, 'acknowledged', acknowledged, await loadSubject(tx, incident.installationId), now);
  return { outcome: 'acknowledged', incident: acknowledged };
}

/** End an incident: its condition cleared (`system`), a person closed it, or monitoring was turned off. */
export async function resolveIncident(
  tx: Queryable,
  incidentId: number,
  actor: string,
  resolution: Resolution,
  now: Date,
): Promise<Incident> {
  const incident = await requireIncident(tx, incidentId);
  if (incident.status === 'resolved') throw inputError('incidentResolved', { id: incidentId });
  const resolved = await updateIncident(tx, incidentId, {
    status: 'resolved',
    resolvedAt: now,
    resolvedBy: actor,
    resolution,
    nextReminderAt: null,
  });
  await recordIncidentEvent(tx, { incidentId, at: now, type: 'resolved', actor, details: { resolution } });
  // A warning that clears while its announcement still waits out FLAP_HOLD is withdrawn: nobody hears of either.
  const withdrawn = resolved.severity === 'warning' && (await withdrawUnsentOpening(tx, incidentId));
  if (withdrawn) await recordIncidentEvent(tx, { incidentId, at: now, type: 'withdrawn', actor: 'system', details: {} });
  // People only hear that something ended if they heard that it began.
  if (resolved.announcedAt && !withdrawn) await notify(tx, null, 'resolved', resolved, await loadSubject(tx, incident.installationId), now);
  return resolved;
}

export async function remind(tx: Queryable, settings: IncidentSettings, incident: Incident, now: Date): Promise<Incident> {
  const reminded = await updateIncident(tx, incident.id, { nextReminderAt: new Date(now.getTime() + settings.remindEveryMs) });
  await notify(tx, settings, 'reminder', reminded, await loadSubject(tx, incident.installationId), now);
  await recordIncidentEvent(tx, { incidentId: incident.id, at: now, type: 'reminded', actor: 'system' });
  return reminded;
}

export async function escalate(tx: Queryable, settings: IncidentSettings, incident: Incident, now: Date): Promise<Incident> {
  const escalated = await updateIncident(tx, incident.id, { escalatedAt: now });
  await notify(tx, settings, 'escalated', escalated, await loadSubject(tx, incident.installationId), now);
  await recordIncidentEvent(tx, { incidentId: incident.id, at: now, type: 'escalated', actor: 'system' });
  return escalated;
}

/** A critical incident of the night nobody has taken: sent again, before work starts, to its manager and their lead. */
export async function wakeBeforeWork(tx: Queryable, incident: Incident, now: Date): Promise<void> {
  await notify(tx, null, 'wake', incident, await loadSubject(tx, incident.installationId), now);
  await recordIncidentEvent(tx, { incidentId: incident.id, at: now, type: 'woken', actor: 'system' });
}

async function requireIncident(db: Queryable, id: number): Promise<Incident> {
  const incident = await getIncident(db, id);
  if (!incident) throw notFound('incidentNotFound', { id });
  return incident;
}

/** What the delivery side gets: a snapshot, so a message can be rendered without further lookups. */
export interface AnnouncementPayload {
  incidentId: number;
  ruleId: string;
  title: string;
  severity: Severity;
  status: Incident['status'];
  clientId: number;
  clientName: string;
  installationId: number;
  installationName: string;
  openedAt: string;
  facts: Facts;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  acknowledgedByName: string | null;
  resolvedAt: string | null;
  resolution: Resolution | null;
}

/** `settings` is needed for what may be held for quiet hours (new warnings and their reminders). */
async function notify(
  tx: Queryable,
  settings: IncidentSettings | null,
  kind: AnnouncementKind,
  incident: Incident,
  subject: Subject,
  now: Date,
  lookups?: AnnouncementLookups,
): Promise<void> {
  const payload: AnnouncementPayload = {
    incidentId: incident.id,
    ruleId: incident.ruleId,
    // In the service's language: a snapshot for channels that do not render it themselves.
    title: ruleTitle('ru', incident.ruleId),
    severity: incident.severity,
    status: incident.status,
    clientId: subject.clientId,
    clientName: subject.clientName,
    installationId: subject.installationId,
    installationName: subject.installationName,
    openedAt: incident.openedAt.toISOString(),
    facts: incident.details,
    acknowledgedAt: incident.acknowledgedAt?.toISOString() ?? null,
    acknowledgedBy: incident.acknowledgedBy,
    acknowledgedByName: await actorName(tx, incident.acknowledgedBy),
    resolvedAt: incident.resolvedAt?.toISOString() ?? null,
    resolution: incident.resolution,
  };
  const audience = await audienceOf(tx, subject.clientId, lookups);
  const chats = recipientsFor(kind, audience, incident.escalatedAt !== null);
  if (chats.length === 0) {
    // No chat, no manager, no lead, no admin: keep the fact on record so the gap can be found.
    await recordIncidentEvent(tx, { incidentId: incident.id, at: now, type: 'unroutable', actor: 'system', details: { kind } });
  }
  for (const chatId of chats) {
    const quiet = settings && incident.severity === 'warning' && (kind === 'opened' || kind === 'reminder') ? await quietHoursEnd(tx, settings, chatId, now, lookups) : null;
    // A new warning waits out FLAP_HOLD: if it clears meanwhile, it is withdrawn unsent (see resolveIncident). One that came
    // with a critical of the same installation is no flap: it goes with it, so one message tells the story with its cause.
    const flap =
      settings?.flapHoldMs && incident.severity === 'warning' && kind === 'opened' && !(await withCritical(tx, incident, now)) ? new Date(now.getTime() + settings.flapHoldMs) : null;
    const holdUntil = quiet && flap ? (quiet > flap ? quiet : flap) : (quiet ?? flap);
    const channels = channelsFor(kind, channelOf(audience, chatId));
    // Whatever is said about a critical incident goes before the chat's warnings and notices (delivery/dispatcher.ts).
    if (channels.telegram) {
      await enqueue(tx, { kind: `incident.${kind}`, chatId, incidentId: incident.id, payload: { ...payload }, urgent: incident.severity === 'critical' }, now, holdUntil);
    }
    if (channels.alertMail) await enqueueMailOnce(tx, MAIL_ALERT, chatId, incident.id, { severity: incident.severity, reason: 'channel' }, now, holdUntil);
  }
  // A critical that was mailed ends in one short mail to each person it was mailed to (one still on its way too: if it
  // does not go after all, its end is withdrawn with it, mail/delivery.ts); nothing else of it goes by mail.
  if (kind === 'resolved' && incident.severity === 'critical') {
    for (const personId of await mailedAlertRecipients(tx, incident.id)) {
      await enqueueMailOnce(tx, MAIL_RESOLVED, personId, incident.id, { severity: incident.severity }, now);
    }
  }
}

/** Whether a critical incident of the same installation opened at this same moment (the same report showed both). */
async function withCritical(db: Queryable, incident: Incident, now: Date): Promise<boolean> {
  return hasCriticalOpenedAt(db, incident.installationId, now);
}

async function audienceOf(db: Queryable, clientId: number, lookups: AnnouncementLookups | undefined): Promise<Audience> {
  let audience = lookups?.audiences.get(clientId);
  if (!audience) {
    audience = await loadAudience(db, clientId);
    lookups?.audiences.set(clientId, audience);
  }
  return audience;
}

/** When the person behind a private chat is in quiet hours, the moment they end (groups have none). */
async function quietHoursEnd(db: Queryable, settings: IncidentSettings, chatId: number, now: Date, lookups: AnnouncementLookups | undefined): Promise<Date | null> {
  if (chatId < 0) return null;
  const known = lookups?.quietEnds.get(chatId);
  if (known !== undefined) return known;
  const window = (await getQuietHours(db, chatId)) ?? settings.quietHours.defaultWindow;
  const end = quietUntil(now, settings.quietHours.tz, window);
  lookups?.quietEnds.set(chatId, end);
  return end;
}

/** A person's name for `tg:<id>` actors; other actors (cli:…, system) are shown as they are. */
async function actorName(db: Queryable, actor: string | null): Promise<string | null> {
  if (!actor) return null;
  const match = /^tg:(\d+)$/.exec(actor);
  if (!match) return actor;
  return (await getUserName(db, Number(match[1]))) ?? actor;
}
