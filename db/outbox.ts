import { and, asc, eq, inArray, isNull, like, lte, notLike, or, sql } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { statement } from './statements.ts';
import { first } from './query.ts';
import { incidents, outbox } from './schema.ts';

/** Kinds of outbox messages besides incident announcements (`incident.<kind>`). */
export const DIGEST_TEXT = 'digest.text';
export const DIGEST_CHART = 'digest.chart';
/** A plain-text notice for people (not about one incident), e.g. "chat unreachable" for admins. */
export const NOTICE = 'system.notice';
/** A critical incident was put off by someone; the people it escalates to are told (payload: who, until when). */
export const CRITICAL_SNOOZED = 'incident.snoozed';

/**
 * Mail goes through the same outbox as Telegram, in lanes of its own: its
 * kinds start with `mail.`, and its `chat_id` is the Telegram id of the person
 * it is for (their address is read when it goes). Each channel's dispatcher
 * reads only its own kinds, so neither ever waits for the other.
 */
export const MAIL_ALERT = 'mail.alert';
export const MAIL_RESOLVED = 'mail.resolved';
export const MAIL_DIGEST = 'mail.digest';
const MAIL_KINDS = 'mail.%';

export type Channel = 'telegram' | 'mail';

const ofChannel = (channel: Channel) => (channel === 'mail' ? like(outbox.kind, MAIL_KINDS) : notLike(outbox.kind, MAIL_KINDS));

export type OutboxRow = typeof outbox.$inferSelect;
/** `urgent`: about a critical incident; when not given, a payload whose `severity` is critical makes it so. */
export type NewOutboxRow = Pick<typeof outbox.$inferInsert, 'kind' | 'chatId' | 'incidentId' | 'payload'> & { urgent?: boolean };

const enqueueStatement = statement(
  'outbox.enqueue',
  `INSERT INTO outbox (kind, chat_id, incident_id, payload, urgent, created_at, next_attempt_at, deliver_after)
   VALUES (@kind, @chatId, @incidentId, @payload, @urgent, @createdAt, @nextAttemptAt, @deliverAfter) RETURNING id`,
);

/** Write a message to the outbox; its id (a prepared statement: a webhook may write thousands in a row). */
export async function enqueue(db: Queryable, message: NewOutboxRow, at: Date, deliverAfter: Date | null = null): Promise<number> {
  const row = { ...message, incidentId: message.incidentId ?? null, urgent: message.urgent ?? message.payload.severity === 'critical', createdAt: at, nextAttemptAt: at, deliverAfter };
  return (await enqueueStatement.get<{ id: number }>(db, row))!.id;
}

/** Messages held for quiet hours are not there yet: they neither go nor hold up the chat. */
const released = (now: Date) => or(isNull(outbox.deliverAfter), lte(outbox.deliverAfter, now));

/**
 * A chat's order: urgent messages (about critical incidents) first, then the
 * rest, each in the order written. Its head is the first released message
 * by that order.
 */
export interface ChatHead {
  chatId: number;
  urgent: boolean;
}

/** Chats whose head (see `ChatHead`) is due, those with an urgent head first (a chat whose head waits for a retry is left out). */
export async function chatsWithDueMessages(db: Queryable, channel: Channel, now: Date, limit: number): Promise<ChatHead[]> {
  // Each chat's first message: its id per chat, then that row.
  const firstOf = (urgentOnly: boolean) => {
    const firsts = db
      .select({ id: sql<number>`min(${outbox.id})`.as('first_id') })
      .from(outbox)
      .where(and(eq(outbox.status, 'pending'), ofChannel(channel), released(now), urgentOnly ? eq(outbox.urgent, true) : undefined))
      .groupBy(outbox.chatId)
      .as('firsts');
    return db
      .select({ chatId: outbox.chatId, id: outbox.id, nextAttemptAt: outbox.nextAttemptAt, urgent: outbox.urgent })
      .from(outbox)
      .innerJoin(firsts, eq(outbox.id, firsts.id));
  };
  const heads = new Map((await firstOf(false)).map((head) => [head.chatId, head]));
  for (const head of await firstOf(true)) heads.set(head.chatId, head);
  return [...heads.values()]
    .filter((head) => head.nextAttemptAt.getTime() <= now.getTime())
    .sort((a, b) => Number(b.urgent) - Number(a.urgent) || a.id - b.id)
    .slice(0, limit)
    .map(({ chatId, urgent }) => ({ chatId, urgent }));
}

/**
 * A chat's released pending messages in its order (see `ChatHead`), at most
 * `limit`: the urgent ones are read first, so a critical alert behind
 * thousands of queued warnings is among them.
 */
export async function pendingOfChat(db: Queryable, channel: Channel, chatId: number, now: Date, limit: number): Promise<OutboxRow[]> {
  const of = (urgent: boolean, n: number) =>
    db
      .select()
      .from(outbox)
      .where(and(eq(outbox.chatId, chatId), eq(outbox.status, 'pending'), ofChannel(channel), eq(outbox.urgent, urgent), released(now)))
      .orderBy(asc(outbox.id))
      .limit(n);
  const urgent = await of(true, limit);
  return urgent.length < limit ? [...urgent, ...(await of(false, limit - urgent.length))] : urgent;
}

/** Which of these incidents still have their opening waiting in a chat's outbox, released (changes to them fold into it). */
export async function pendingOpeningsOf(db: Queryable, chatId: number, incidentIds: readonly number[], now: Date): Promise<number[]> {
  if (incidentIds.length === 0) return [];
  const rows = await db
    .selectDistinct({ incidentId: outbox.incidentId })
    .from(outbox)
    .where(and(eq(outbox.chatId, chatId), eq(outbox.status, 'pending'), eq(outbox.kind, 'incident.opened'), inArray(outbox.incidentId, [...incidentIds]), released(now)));
  return rows.flatMap((r) => (r.incidentId === null ? [] : [r.incidentId]));
}

export async function markSent(db: Queryable, id: number, at: Date): Promise<void> {
  await db.update(outbox).set({ status: 'sent', sentAt: at, lastError: null }).where(eq(outbox.id, id));
}

export async function markFailed(db: Queryable, id: number, attempts: number, nextAttemptAt: Date, error: string): Promise<void> {
  await db
    .update(outbox)
    .set({ attempts, nextAttemptAt, lastError: error.slice(0, 1000) })
    .where(and(eq(outbox.id, id), eq(outbox.status, 'pending')));
}

/** When the next pending message becomes due (null when nothing is pending). */
export async function nextDueAt(db: Queryable, channel: Channel): Promise<Date | null> {
  const row = await first(
    db
      .select({ at: sql<number | null>`min(case when ${outbox.nextAttemptAt} > coalesce(${outbox.deliverAfter}, 0) then ${outbox.nextAttemptAt} else ${outbox.deliverAfter} end)` })
      .from(outbox)
      .where(and(eq(outbox.status, 'pending'), ofChannel(channel))),
  );
  return row?.at == null ? null : new Date(row.at);
}

/** When the oldest message still waiting was written (null when nothing waits). */
export async function oldestPendingAt(db: Queryable): Promise<Date | null> {
  const row = await first(db.select({ at: sql<number | null>`min(${outbox.createdAt})` }).from(outbox).where(eq(outbox.status, 'pending')));
  return row?.at == null ? null : new Date(row.at);
}

export async function pendingCount(db: Queryable): Promise<number> {
  return (await first(db.select({ n: sql<number>`count(*)` }).from(outbox).where(eq(outbox.status, 'pending'))))?.n ?? 0;
}

/** Pending messages follow a group that Telegram turned into a supergroup. */
export async function moveOutboxChat(db: Queryable, from: number, to: number): Promise<void> {
  await db.update(outbox).set({ chatId: to }).where(and(eq(outbox.chatId, from), eq(outbox.status, 'pending'), ofChannel('telegram')));
}

/**
 * Withdraw an incident's announcement that has not gone out to anyone yet
 * (a warning still waiting out FLAP_HOLD): its pending rows are deleted.
 * True when there was one and none of it had been sent.
 */
export async function withdrawUnsentOpening(db: Queryable, incidentId: number): Promise<boolean> {
  const rows = await db
    .select({ id: outbox.id, status: outbox.status })
    .from(outbox)
    .where(and(eq(outbox.incidentId, incidentId), eq(outbox.kind, 'incident.opened')));
  if (rows.length === 0 || rows.some((row) => row.status !== 'pending')) return false;
  await db.delete(outbox).where(and(eq(outbox.incidentId, incidentId), eq(outbox.status, 'pending')));
  return true;
}

/**
 * Write a mail about an incident to a person unless one of this kind is
 * already written for them (sent or waiting): nothing goes twice by mail.
 * True when it was written now.
 */
export async function enqueueMailOnce(
  db: Queryable,
  kind: typeof MAIL_ALERT | typeof MAIL_RESOLVED,
  personId: number,
  incidentId: number,
  payload: Record<string, unknown>,
  at: Date,
  deliverAfter: Date | null = null,
): Promise<boolean> {
  const written = await first(
    db
      .select({ id: outbox.id })
      .from(outbox)
      .where(and(eq(outbox.kind, kind), eq(outbox.chatId, personId), eq(outbox.incidentId, incidentId))),
  );
  if (written) return false;
  await enqueue(db, { kind, chatId: personId, incidentId, payload, urgent: payload.severity === 'critical' }, at, deliverAfter);
  return true;
}

/** The people an incident's alert was mailed to, or is on its way to (their Telegram ids, in the order written). */
export async function mailedAlertRecipients(db: Queryable, incidentId: number): Promise<number[]> {
  const rows = await db
    .select({ chatId: outbox.chatId })
    .from(outbox)
    .where(and(eq(outbox.kind, MAIL_ALERT), eq(outbox.incidentId, incidentId)))
    .orderBy(asc(outbox.id));
  return rows.map((r) => r.chatId);
}

/** Of these incidents, those whose alert went, or goes, by mail to anyone (one that did not go is withdrawn: withdrawMail). */
export async function incidentsMailed(db: Queryable, incidentIds: readonly number[]): Promise<Set<number>> {
  if (incidentIds.length === 0) return new Set();
  const rows = await db
    .selectDistinct({ incidentId: outbox.incidentId })
    .from(outbox)
    .where(and(eq(outbox.kind, MAIL_ALERT), inArray(outbox.incidentId, [...incidentIds])));
  return new Set(rows.flatMap((r) => (r.incidentId === null ? [] : [r.incidentId])));
}

/**
 * The outbox kinds that call someone to a critical incident, and so fall back
 * to mail when Telegram does not deliver them: the alert itself, its
 * escalation to the lead (or the admins), and the morning call. Reminders
 * and redraws do not: the person was called already.
 */
export const CALLS_TO_AN_INCIDENT = ['incident.opened', 'incident.escalated', 'incident.wake'] as const;

/**
 * Critical alerts Telegram has not delivered since before `writtenBefore`
 * (the Bot API unreachable, a blocked bot, a chat gone) whose incident is
 * still open and which the mail fallback has not looked at yet: the rows of
 * `CALLS_TO_AN_INCIDENT`, oldest first, with the chat each was for. Each is
 * looked at once (`markFallenBack`), so rows left in a dead chat never crowd
 * out new ones.
 */
export async function undeliveredCriticalAlerts(
  db: Queryable,
  writtenBefore: Date,
  limit: number,
): Promise<{ rowId: number; incidentId: number; chatId: number; kind: string }[]> {
  const rows = await db
    .select({ rowId: outbox.id, incidentId: outbox.incidentId, chatId: outbox.chatId, kind: outbox.kind })
    .from(outbox)
    .innerJoin(incidents, eq(incidents.id, outbox.incidentId))
    .where(
      and(
        inArray(outbox.kind, [...CALLS_TO_AN_INCIDENT]),
        eq(outbox.status, 'pending'),
        eq(outbox.urgent, true),
        isNull(outbox.fallbackAt),
        lte(outbox.createdAt, writtenBefore),
        eq(incidents.status, 'open'),
      ),
    )
    .orderBy(asc(outbox.id))
    .limit(limit);
  return rows.flatMap((r) => (r.incidentId === null ? [] : [{ rowId: r.rowId, incidentId: r.incidentId, chatId: r.chatId, kind: r.kind }]));
}

/** The mail fallback has looked at this undelivered alert: it is not looked at again. */
export async function markFallenBack(db: Queryable, rowId: number, at: Date): Promise<void> {
  await db.update(outbox).set({ fallbackAt: at }).where(eq(outbox.id, rowId));
}

/**
 * A mail that did not go (its incident over first, no address any more, the
 * address refused) is taken back: nothing says it was mailed, and an alert's
 * end is not mailed to someone who never got the alert.
 */
export async function withdrawMail(db: Queryable, message: { id: number; kind: string; chatId: number; incidentId: number | null }): Promise<void> {
  await db.delete(outbox).where(eq(outbox.id, message.id));
  if (message.kind === MAIL_ALERT && message.incidentId !== null) {
    await db
      .delete(outbox)
      .where(and(eq(outbox.kind, MAIL_RESOLVED), eq(outbox.chatId, message.chatId), eq(outbox.incidentId, message.incidentId), eq(outbox.status, 'pending')));
  }
}

/** Mail still waiting when the service has no mail server any more: taken back (how many), since nothing can send it. */
export async function dropPendingMail(db: Queryable): Promise<number> {
  const rows = await db.delete(outbox).where(and(ofChannel('mail'), eq(outbox.status, 'pending'))).returning({ id: outbox.id });
  return rows.length;
}
