import { and, asc, eq, isNull, lte, or, sql } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { outbox } from './schema.ts';

/** Kinds of outbox messages besides incident announcements (`incident.<kind>`). */
export const DIGEST_TEXT = 'digest.text';
export const DIGEST_CHART = 'digest.chart';
/** A plain-text notice for people (not about one incident), e.g. "chat unreachable" for admins. */
export const NOTICE = 'system.notice';

export type OutboxRow = typeof outbox.$inferSelect;
export type NewOutboxRow = Pick<typeof outbox.$inferInsert, 'kind' | 'chatId' | 'incidentId' | 'payload'>;

export function enqueue(db: Queryable, message: NewOutboxRow, at: Date, deliverAfter: Date | null = null): OutboxRow {
  return db
    .insert(outbox)
    .values({ ...message, createdAt: at, nextAttemptAt: at, deliverAfter })
    .returning()
    .get();
}

/** Messages held for quiet hours are not there yet: they neither go nor hold up the chat. */
const released = (now: Date) => or(isNull(outbox.deliverAfter), lte(outbox.deliverAfter, now));

/** Chats whose oldest pending message is due (a chat waiting for a retry is left out). */
export function chatsWithDueMessages(db: Queryable, now: Date, limit: number): number[] {
  const heads = db
    .select({ id: sql<number>`min(${outbox.id})`.as('head_id') })
    .from(outbox)
    .where(and(eq(outbox.status, 'pending'), released(now)))
    .groupBy(outbox.chatId)
    .as('heads');
  return db
    .select({ chatId: outbox.chatId })
    .from(outbox)
    .innerJoin(heads, eq(heads.id, outbox.id))
    .where(lte(outbox.nextAttemptAt, now))
    .orderBy(asc(outbox.id))
    .limit(limit)
    .all()
    .map((r) => r.chatId);
}

/** A chat's pending messages that are released, oldest first. */
export function pendingOfChat(db: Queryable, chatId: number, now: Date, limit: number): OutboxRow[] {
  return db
    .select()
    .from(outbox)
    .where(and(eq(outbox.chatId, chatId), eq(outbox.status, 'pending'), released(now)))
    .orderBy(asc(outbox.id))
    .limit(limit)
    .all();
}

export function markSent(db: Queryable, id: number, at: Date): void {
  db.update(outbox).set({ status: 'sent', sentAt: at, lastError: null }).where(eq(outbox.id, id)).run();
}

export function markFailed(db: Queryable, id: number, attempts: number, nextAttemptAt: Date, error: string): void {
  db.update(outbox)
    .set({ attempts, nextAttemptAt, lastError: error.slice(0, 1000) })
    .where(and(eq(outbox.id, id), eq(outbox.status, 'pending')))
    .run();
}

/** When the next pending message becomes due (null when nothing is pending). */
export function nextDueAt(db: Queryable): Date | null {
  const row = db
    .select({ at: sql<number | null>`min(max(${outbox.nextAttemptAt}, coalesce(${outbox.deliverAfter}, 0)))` })
    .from(outbox)
    .where(eq(outbox.status, 'pending'))
    .get();
  return row?.at == null ? null : new Date(row.at);
}

/** When the oldest message still waiting was written (null when nothing waits). */
export function oldestPendingAt(db: Queryable): Date | null {
  const row = db.select({ at: sql<number | null>`min(${outbox.createdAt})` }).from(outbox).where(eq(outbox.status, 'pending')).get();
  return row?.at == null ? null : new Date(row.at);
}

export function pendingCount(db: Queryable): number {
  return db.select({ n: sql<number>`count(*)` }).from(outbox).where(eq(outbox.status, 'pending')).get()?.n ?? 0;
}

/** Pending messages follow a group that Telegram turned into a supergroup. */
export function moveOutboxChat(db: Queryable, from: number, to: number): void {
  db.update(outbox).set({ chatId: to }).where(and(eq(outbox.chatId, from), eq(outbox.status, 'pending'))).run();
}

/**
 * Withdraw an incident's announcement that has not gone out to anyone yet
 * (a warning still waiting out FLAP_HOLD): its pending rows are deleted.
 * True when there was one and none of it had been sent.
 */
export function withdrawUnsentOpening(db: Queryable, incidentId: number): boolean {
  const rows = db
    .select({ id: outbox.id, status: outbox.status })
    .from(outbox)
    .where(and(eq(outbox.incidentId, incidentId), eq(outbox.kind, 'incident.opened')))
    .all();
  if (rows.length === 0 || rows.some((row) => row.status !== 'pending')) return false;
  db.delete(outbox).where(and(eq(outbox.incidentId, incidentId), eq(outbox.status, 'pending'))).run();
  return true;
}
