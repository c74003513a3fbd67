import { and, eq, gte, lt, lte, sql } from 'drizzle-orm';
import type { AvailabilityTally } from '../core/availability.ts';
import type { Queryable } from './open.ts';
import { availabilityDays, clients, installations } from './schema.ts';

/** Count one probe round for an installation's day. */
export async function countProbeRound(db: Queryable, installationId: number, day: string, up: boolean): Promise<void> {
  await db
    .insert(availabilityDays)
    .values({ installationId, day, rounds: 1, up: up ? 1 : 0 })
    .onConflictDoUpdate({
      target: [availabilityDays.installationId, availabilityDays.day],
      set: { rounds: sql`${availabilityDays.rounds} + 1`, up: sql`${availabilityDays.up} + ${up ? 1 : 0}` },
    });
}

/** One installation's days from `fromDay` to `toDay` (YYYY-MM-DD, both included), in order; days without rounds are absent. */
export async function listAvailabilityDays(db: Queryable, installationId: number, fromDay: string, toDay: string): Promise<({ day: string } & AvailabilityTally)[]> {
  return await db
    .select({ day: availabilityDays.day, rounds: availabilityDays.rounds, up: availabilityDays.up })
    .from(availabilityDays)
    .where(and(eq(availabilityDays.installationId, installationId), gte(availabilityDays.day, fromDay), lte(availabilityDays.day, toDay)))
    .orderBy(availabilityDays.day);
}

/** Rounds and ups per client (with its name) over the days from `fromDay` to `toDay`, clients without rounds left out. */
export async function availabilityByClient(db: Queryable, fromDay: string, toDay: string): Promise<({ clientId: number; clientName: string } & AvailabilityTally)[]> {
  return await db
    .select({ clientId: installations.clientId, clientName: clients.name, rounds: sql<number>`sum(${availabilityDays.rounds})`, up: sql<number>`sum(${availabilityDays.up})` })
    .from(availabilityDays)
    .innerJoin(installations, eq(installations.id, availabilityDays.installationId))
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .where(and(gte(availabilityDays.day, fromDay), lte(availabilityDays.day, toDay)))
    // The name beside the id: PostgreSQL takes no bare column next to an aggregate (one name per client either way).
    .groupBy(installations.clientId, clients.name);
}

/** Forget days before `day`. */
export async function deleteAvailabilityBefore(db: Queryable, day: string): Promise<void> {
  await db.delete(availabilityDays).where(lt(availabilityDays.day, day));
}
