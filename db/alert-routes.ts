import { asc, eq } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { changedRows, first } from './query.ts';
import { alertRoutes, clients, installations } from './schema.ts';

export type AlertRoute = typeof alertRoutes.$inferSelect;

/** The installation an admin placed the alerts of this source under, if one did. */
export async function findAlertRoute(db: Queryable, source: string): Promise<AlertRoute | undefined> {
  return first(db.select().from(alertRoutes).where(eq(alertRoutes.source, source)));
}

export async function saveAlertRoute(db: Queryable, route: AlertRoute): Promise<void> {
  await db
    .insert(alertRoutes)
    .values(route)
    .onConflictDoUpdate({ target: alertRoutes.source, set: { installationId: route.installationId, createdAt: route.createdAt, createdBy: route.createdBy } });
}

/** Returns false when there was no such route. */
export async function deleteAlertRoute(db: Queryable, source: string): Promise<boolean> {
  return changedRows(await db.delete(alertRoutes).where(eq(alertRoutes.source, source))) > 0;
}

export async function listAlertRoutes(db: Queryable) {
  return db
    .select({ source: alertRoutes.source, installationId: alertRoutes.installationId, installationName: installations.name, clientName: clients.name, createdAt: alertRoutes.createdAt, createdBy: alertRoutes.createdBy })
    .from(alertRoutes)
    .innerJoin(installations, eq(installations.id, alertRoutes.installationId))
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .orderBy(asc(alertRoutes.source));
}
