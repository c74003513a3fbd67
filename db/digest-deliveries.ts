import { and, eq } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { first } from './query.ts';
import { digestDeliveries } from './schema.ts';

/** Claim a recipient's digest for a day; false when it was already sent (or queued). */
export async function claimDigest(db: Queryable, recipientId: number, day: string, kind: 'team' | 'personal', at: Date): Promise<boolean> {
  const row = await first(
    db
      .insert(digestDeliveries)
      .values({ recipientId, day, kind, queuedAt: at })
      .onConflictDoNothing()
      .returning({ day: digestDeliveries.day }),
  );
  return row !== undefined;
}

export async function isDigestClaimed(db: Queryable, recipientId: number, day: string, kind: 'team' | 'personal'): Promise<boolean> {
  return (
    (await first(
      db
        .select({ day: digestDeliveries.day })
        .from(digestDeliveries)
        .where(and(eq(digestDeliveries.recipientId, recipientId), eq(digestDeliveries.day, day), eq(digestDeliveries.kind, kind))),
    )) !== undefined
  );
}
