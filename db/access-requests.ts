import { asc, eq } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { accessRequests } from './schema.ts';

export type AccessRequest = typeof accessRequests.$inferSelect;

export function getAccessRequest(db: Queryable, telegramId: number): AccessRequest | undefined {
  return db.select().from(accessRequests).where(eq(accessRequests.telegramId, telegramId)).get();
}

export function saveAccessRequest(db: Queryable, request: typeof accessRequests.$inferInsert): void {
  db.insert(accessRequests)
    .values(request)
    .onConflictDoUpdate({ target: accessRequests.telegramId, set: request })
    .run();
}

export function decideAccessRequest(db: Queryable, telegramId: number, status: 'approved' | 'refused', by: number, at: Date): void {
  db.update(accessRequests).set({ status, decidedBy: by, decidedAt: at }).where(eq(accessRequests.telegramId, telegramId)).run();
}

export function listPendingRequests(db: Queryable): AccessRequest[] {
  return db.select().from(accessRequests).where(eq(accessRequests.status, 'pending')).orderBy(asc(accessRequests.requestedAt)).all();
}
