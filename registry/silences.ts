import { DateTime } from 'luxon';
import { parseDuration } from '../core/duration.ts';
import { isExternalRuleId } from '../core/external-alerts.ts';
import { isRuleId } from '../core/rules.ts';
import { recordAudit } from '../db/audit.ts';
import { endSilence, findActiveSilenceOfScope, getSilence, insertSilence, listActiveSilences, toSilence, type SilenceRow } from '../db/silences.ts';
import { listActiveIncidents, type Incident } from '../db/incidents.ts';
import { listInstallationsOfClient } from '../db/installations.ts';
import type { Queryable } from '../db/open.ts';
import { silenceMatches } from '../core/silences.ts';
import { tellOfCriticalSnooze, type PutOffWitnesses } from '../incidents/lifecycle.ts';
import type { RegistryContext } from './context.ts';
import { resolveClient } from './clients.ts';
import { requireInstallation } from './installations.ts';
import { displayName, validate } from './fields.ts';
import { inputError, notFound } from '../i18n/index.ts';
import { writeTransaction } from '../db/transaction.ts';

export interface NewSilenceInput {
  installation?: string | number;
  client?: string;
  rule?: string;
  /** A duration such as 2h, or… */
  for?: string;
  /** …an end time (ISO 8601; without an offset read in `tz`), or… */
  until?: string;
  /** …the end as read from a chat phrase («до утра»). */
  endsAt?: Date;
  reason: string;
  tz: string;
}

/** The longest a silence may last: past it, an installation is better turned off than put off. */
export const MAX_SILENCE_DAYS = 90;
const MAX_SILENCE_MS = MAX_SILENCE_DAYS * 24 * 3_600_000;
/** A silence asked for again within this of the end of one already in force is the same silence. */
const REPEAT_TOLERANCE_MS = 5 * 60_000;

/**
 * Hold back announcements for an installation, a client and/or a rule until
 * the silence ends. Asking again for a silence already in force (as long, or
 * nearly) returns that one rather than adding another.
 */
export async function addSilence(ctx: RegistryContext, input: NewSilenceInput): Promise<SilenceRow> {
  if (input.installation === undefined && input.client === undefined && input.rule === undefined) {
    throw inputError('silenceNoScope', {});
  }
  if ([input.for, input.until, input.endsAt].filter((end) => end !== undefined).length !== 1) {
    throw inputError('silenceNeedsEnd', {});
  }
  // A rule of dozor's own, or an alert from Alertmanager (`am:<name>:<fingerprint>`, as its incident has it).
  if (input.rule !== undefined && !isRuleId(input.rule) && !/^[A-Za-z][A-Za-z0-9_]*$/.test(input.rule) && !isExternalRuleId(input.rule)) {
    throw inputError('silenceRuleInvalid', { rule: input.rule });
  }
  const reason = validate(displayName(500), input.reason, 'reason');
  const now = ctx.clock();
  const endsAt = input.endsAt ?? (input.for !== undefined ? new Date(now.getTime() + parseDuration(input.for)) : parseEnd(input.until!, input.tz));
  if (endsAt.getTime() <= now.getTime()) throw inputError('silenceEndsBeforeStart', {});
  if (endsAt.getTime() - now.getTime() > MAX_SILENCE_MS) throw inputError('silenceTooLong', { days: MAX_SILENCE_MS / 86_400_000 });

  return writeTransaction(ctx.db, async (tx) => {
    const installationId = input.installation === undefined ? null : (await requireInstallation(tx, input.installation)).id;
    const clientId = input.client === undefined ? null : (await resolveClient(tx, input.client)).id;
    // A repeated press or command (fifty taps on «💤 1 ч») adds nothing while a silence of the same scope already lasts as long.
    const existing = await findActiveSilenceOfScope(tx, { installationId, clientId, ruleId: input.rule ?? null }, now);
    if (existing && existing.endsAt.getTime() >= endsAt.getTime() - REPEAT_TOLERANCE_MS) return existing;
    const silence = await insertSilence(tx, {
      installationId,
      clientId,
      ruleId: input.rule ?? null,
      startsAt: now,
      endsAt,
      author: ctx.actor,
      reason,
      createdAt: now,
    });
    await recordAudit(tx, { at: now, actor: ctx.actor, action: 'silence.add', subjectType: 'silence', subjectId: silence.id, details: { installationId, clientId, ruleId: silence.ruleId, endsAt, reason } });
    return silence;
  });
}

/** What a silence of a client, or of one installation of it, covers. */
export interface SilenceScope {
  clientId: number;
  installationId: number | null;
}

/**
 * The open critical alerts nobody took that a silence of `scope` until
 * `endsAt` would put off: those no silence in force already holds back as
 * long. Putting them off is asked about first and told, as «💤 До утра» under
 * the alert is (bot/features/silences.ts).
 */
export async function criticalsPutOff(db: Queryable, scope: SilenceScope, endsAt: Date, now: Date): Promise<Incident[]> {
  const installationIds = scope.installationId !== null ? [scope.installationId] : (await listInstallationsOfClient(db, scope.clientId)).map((i) => i.id);
  const inForce = (await listActiveSilences(db, now)).map(toSilence);
  const found: Incident[] = [];
  for (const installationId of installationIds) {
    for (const incident of await listActiveIncidents(db, installationId)) {
      if (incident.severity !== 'critical' || incident.status !== 'open') continue;
      const alert = { installationId, clientId: scope.clientId, ruleId: incident.ruleId };
      if (!inForce.some((s) => silenceMatches(s, alert, now) && s.endsAt.getTime() >= endsAt.getTime())) found.push(incident);
    }
  }
  return found;
}

/**
 * A silence of a client or installation that puts off open criticals (the
 * person was asked, and said yes): added, and each critical it puts off told
 * to its witnesses, in one transaction. Who was told (null: nobody).
 */
export async function addSilenceOverCriticals(
  ctx: RegistryContext,
  scope: SilenceScope,
  input: { endsAt: Date; reason: string; tz: string },
): Promise<{ silence: SilenceRow; told: PutOffWitnesses | null }> {
  return writeTransaction(ctx.db, async (tx) => {
    const now = ctx.clock();
    // Found before the silence is added: it would hold them back itself.
    const criticals = await criticalsPutOff(tx, scope, input.endsAt, now);
    const silence = await addSilence(ctx, { ...(scope.installationId !== null ? { installation: scope.installationId } : { client: String(scope.clientId) }), ...input });
    let told: PutOffWitnesses | null = null;
    for (const incident of criticals) told = (await tellOfCriticalSnooze(tx, incident, ctx.actor, silence.endsAt, now)) ?? told;
    return { silence, told };
  });
}

/** End a silence now; what it held back and is still open is announced at the next sweep. */
export async function removeSilence(ctx: RegistryContext, id: number): Promise<SilenceRow> {
  return writeTransaction(ctx.db, async (tx) => {
    const silence = await getSilence(tx, id);
    if (!silence) throw notFound('silenceNotFound', { id });
    const now = ctx.clock();
    if (silence.removedAt || silence.endsAt.getTime() <= now.getTime()) throw inputError('silenceEnded', { id });
    await endSilence(tx, id, now, ctx.actor);
    await recordAudit(tx, { at: now, actor: ctx.actor, action: 'silence.remove', subjectType: 'silence', subjectId: id });
    return (await getSilence(tx, id))!;
  });
}

function parseEnd(text: string, tz: string): Date {
  const parsed = DateTime.fromISO(text.trim(), { zone: tz });
  if (!parsed.isValid) throw inputError('timeInvalid', { text });
  return parsed.toJSDate();
}
