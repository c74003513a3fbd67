import { and, eq } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { digestDeliveries } from './schema.ts';

/** Claim a recipient's digest for a day; false when it was already sent (or queued). */
export function claimDigest(db: Queryable, recipientId: number, day: string, kind: 'team' | 'personal', at: Date): boolean {
  const row = db
    .insert(digestDeliveries)
    .values({ recipientId, day, kind, queuedAt: at })
    .onConflictDoNothing()
    .returning({ day: digestDeliveries.day })
    .get();
  return row !== undefined;
}

export function isDigestClaimed(db: Queryable, recipientId: number, day: string, kind: 'team' | 'personal'): boolean {
  return (
    db
      .select({ day: digestDeliveries.day })
      .from(digestDeliveries)
      .where(and(eq(digestDeliveries.recipientId, recipientId), eq(digestDeliveries.day, day), eq(digestDeliveries.kind, kind)))
      .get() !== undefined
  );
}
