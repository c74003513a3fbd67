import { and, eq, lt, lte, or, sql } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { first } from './query.ts';
import { leases } from './schema.ts';

/**
 * Claims that several instances on one database make of shared work. Every
 * claim is one conditional statement (an insert that does nothing on conflict,
 * or an update whose WHERE says when the row may be taken), so two instances
 * asking at the same moment cannot both get it, on either database and
 * without a transaction. A claim gives a fence: the number the row holds
 * after it. Renewing, finishing or letting go name that fence, and do nothing
 * once another instance has claimed the row since.
 */

export interface LeaseRow {
  name: string;
  holder: string;
  fence: number;
  expiresAt: number;
  slot: number | null;
  finished: boolean;
  claimedAt: number;
}

/**
 * Claim a role nobody holds, whose holder stopped renewing it, or that this
 * holder's name had before (the same instance restarted); the fence when it
 * is now ours. `alone`: no other instance can exist (SQLite), so the claim is
 * taken whoever held it.
 */
export async function claimRole(db: Queryable, name: string, holder: string, nowMs: number, ttlMs: number, alone = false): Promise<number | null> {
  const inserted = await first(
    db.insert(leases).values({ name, holder, fence: 1, expiresAt: nowMs + ttlMs, slot: null, finished: true, claimedAt: nowMs }).onConflictDoNothing().returning({ fence: leases.fence }),
  );
  if (inserted) return inserted.fence;
  const taken = await first(
    db
      .update(leases)
      .set({ holder, fence: sql`${leases.fence} + 1`, expiresAt: nowMs + ttlMs, claimedAt: nowMs })
      .where(and(eq(leases.name, name), alone ? undefined : or(lte(leases.expiresAt, nowMs), eq(leases.holder, holder))))
      .returning({ fence: leases.fence }),
  );
  return taken?.fence ?? null;
}

/**
 * Claim a scheduled job's run for `slot` (its scheduled time): when the job
 * never ran, when its last run was of an earlier slot and finished (or its
 * holder died), or when this slot's run was claimed by an instance that died
 * before finishing it. Null when another instance runs it, or ran it.
 */
export async function claimJobSlot(db: Queryable, name: string, slot: number, holder: string, nowMs: number, ttlMs: number, alone = false): Promise<number | null> {
  const inserted = await first(
    db.insert(leases).values({ name, holder, fence: 1, expiresAt: nowMs + ttlMs, slot, finished: false, claimedAt: nowMs }).onConflictDoNothing().returning({ fence: leases.fence }),
  );
  if (inserted) return inserted.fence;
  // A run left by this holder's name (the same instance, restarted) or, when alone, by anyone, is over.
  const abandoned = alone ? sql`TRUE` : or(lte(leases.expiresAt, nowMs), eq(leases.holder, holder));
  const taken = await first(
    db
      .update(leases)
      .set({ holder, fence: sql`${leases.fence} + 1`, expiresAt: nowMs + ttlMs, slot, finished: false, claimedAt: nowMs })
      .where(
        and(
          eq(leases.name, name),
          or(
            // A later slot: once the run before it ended, or its holder died (runs never overlap).
            and(or(sql`${leases.slot} is null`, lt(leases.slot, slot)), or(eq(leases.finished, true), abandoned)),
            // This slot, left unfinished by a holder that died.
            and(eq(leases.slot, slot), eq(leases.finished, false), abandoned),
          ),
        ),
      )
      .returning({ fence: leases.fence }),
  );
  return taken?.fence ?? null;
}

/** Keep a claim for `ttlMs` more; false when it is no longer ours (another instance took it over). */
export async function renewLease(db: Queryable, name: string, fence: number, nowMs: number, ttlMs: number): Promise<boolean> {
  const renewed = await first(
    db
      .update(leases)
      .set({ expiresAt: nowMs + ttlMs })
      .where(and(eq(leases.name, name), eq(leases.fence, fence)))
      .returning({ fence: leases.fence }),
  );
  return renewed !== undefined;
}

/** A job's run ended: the slot is done, and the next one may be claimed at once. */
export async function finishJobSlot(db: Queryable, name: string, fence: number, nowMs: number): Promise<boolean> {
  const finished = await first(
    db
      .update(leases)
      .set({ finished: true, expiresAt: nowMs })
      .where(and(eq(leases.name, name), eq(leases.fence, fence)))
      .returning({ fence: leases.fence }),
  );
  return finished !== undefined;
}

/** Let go of a role (the instance is stopping): another instance may claim it at once rather than after it expires. */
export async function releaseLease(db: Queryable, name: string, fence: number, nowMs: number): Promise<void> {
  await db
    .update(leases)
    .set({ expiresAt: nowMs })
    .where(and(eq(leases.name, name), eq(leases.fence, fence)));
}

/** Every claim, for /healthz and /metrics: who holds which role, which job ran last where. */
export async function listLeases(db: Queryable): Promise<LeaseRow[]> {
  return db.select().from(leases).orderBy(leases.name);
}
