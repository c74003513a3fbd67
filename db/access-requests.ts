import { asc, eq } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { first } from './query.ts';
import { accessRequests } from './schema.ts';

export type AccessRequest = typeof accessRequests.$inferSelect;

export async function getAccessRequest(db: Queryable, telegramId: number): Promise<AccessRequest | undefined> {
  return first(db.select().from(accessRequests).where(eq(accessRequests.telegramId, telegramId)));
}

export async function saveAccessRequest(db: Queryable, request: typeof accessRequests.$inferInsert): Promise<void> {
  await db.insert(accessRequests)
    .values(request)
    .onConflictDoUpdate({ target: accessRequests.telegramId, set: request });
}

export async function decideAccessRequest(db: Queryable, telegramId: number, status: 'approved' | 'refused', by: number, at: Date): Promise<void> {
  await db.update(accessRequests).set({ status, decidedBy: by, decidedAt: at }).where(eq(accessRequests.telegramId, telegramId));
}

export async function listPendingRequests(db: Queryable): Promise<AccessRequest[]> {
  return db.select().from(accessRequests).where(eq(accessRequests.status, 'pending')).orderBy(asc(accessRequests.requestedAt));
}
