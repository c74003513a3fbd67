import { and, desc, eq, gte, sql } from 'drizzle-orm';
import { updateClientChat } from './clients.ts';
import { massRuleSql } from './incidents.ts';
import type { DB, Queryable } from './open.ts';
import { moveOutboxChat } from './outbox.ts';
import { first } from './query.ts';
import { incidents, telegramMessages } from './schema.ts';
import { writeTransaction } from './transaction.ts';

/** Which incidents a Telegram message shows, so it can be redrawn when they change. */
export async function rememberMessage(
  db: Queryable,
  message: { chatId: number; messageId: number; kind: string; incidentIds: number[] },
  at: Date,
): Promise<void> {
  for (const incidentId of message.incidentIds) {
    await db.insert(telegramMessages).values({ chatId: message.chatId, messageId: message.messageId, incidentId, kind: message.kind, createdAt: at });
  }
}

/**
 * The kind of row that ties a later problem to an earlier alert it was sent
 * as a reply to, so that alert lists it and is redrawn when it changes.
 */
export const FOLLOWS = 'follows';
/** A row on an alert message saying its event's end has been announced in a reply (kept on the message, never redrawn). */
export const RECOVERY_SAID = 'recovery-said';

/** The incidents a message announces (not the later ones it only lists). */
export async function incidentsOfMessage(db: Queryable, chatId: number, messageId: number): Promise<number[]> {
  return (await rowsOfMessage(db, chatId, messageId))
    .filter((r) => r.kind !== FOLLOWS && r.kind !== RECOVERY_SAID)
    .map((r) => r.incidentId);
}

/** Whether the end of this alert message's event has been announced already. */
export async function recoverySaid(db: Queryable, chatId: number, messageId: number): Promise<boolean> {
  return (await rowsOfMessage(db, chatId, messageId)).some((r) => r.kind === RECOVERY_SAID);
}

/** The later problems listed under an alert, in the order they came. */
export async function laterIncidentsOfMessage(db: Queryable, chatId: number, messageId: number): Promise<number[]> {
  return (await rowsOfMessage(db, chatId, messageId))
    .filter((r) => r.kind === FOLLOWS)
    .map((r) => r.incidentId);
}

async function rowsOfMessage(db: Queryable, chatId: number, messageId: number) {
  return db
    .select({ incidentId: telegramMessages.incidentId, kind: telegramMessages.kind })
    .from(telegramMessages)
    .where(and(eq(telegramMessages.chatId, chatId), eq(telegramMessages.messageId, messageId)))
    .orderBy(telegramMessages.id);
}

/**
 * The latest alert message in a chat, sent since a moment, that shows several
 * incidents counting under one mass event's rule (`massRuleOf`): a mass
 * event's message, if there is one.
 */
export async function findRecentGroupOfRule(db: Queryable, chatId: number, massRule: string, since: Date): Promise<number | null> {
  const rule = massRuleSql(incidents.ruleId);
  const row = await first(
    db
      .select({ messageId: telegramMessages.messageId })
      .from(telegramMessages)
      .innerJoin(incidents, eq(incidents.id, telegramMessages.incidentId))
      .where(and(eq(telegramMessages.chatId, chatId), eq(telegramMessages.kind, 'alert'), gte(telegramMessages.createdAt, since)))
      .groupBy(telegramMessages.messageId)
      .having(sql`count(*) > 1 and count(distinct ${rule}) = 1 and max(${rule}) = ${massRule}`)
      .orderBy(desc(telegramMessages.messageId))
      .limit(1),
  );
  return row?.messageId ?? null;
}

/** The messages in a chat that show an incident (its alert, reminders, escalations, an earlier alert that lists it). */
export async function messagesOfIncident(db: Queryable, incidentId: number, chatId?: number) {
  return db
    .select()
    .from(telegramMessages)
    .where(chatId === undefined ? eq(telegramMessages.incidentId, incidentId) : and(eq(telegramMessages.incidentId, incidentId), eq(telegramMessages.chatId, chatId)))
    .orderBy(telegramMessages.id);
}

/** After a group became a supergroup, its messages live on under the new id. */
export async function moveChat(db: Queryable, from: number, to: number): Promise<void> {
  await db.update(telegramMessages).set({ chatId: to }).where(eq(telegramMessages.chatId, from));
}

/** A group Telegram turned into a supergroup: its client, its messages and its queued announcements follow, together. */
export async function followChatMigration(db: DB, from: number, to: number): Promise<void> {
  await writeTransaction(db, async (tx) => {
    await updateClientChat(tx, from, to);
    await moveChat(tx, from, to);
    await moveOutboxChat(tx, from, to);
  });
}
