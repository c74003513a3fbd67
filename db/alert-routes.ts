import { asc, eq } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { alertRoutes, clients, installations } from './schema.ts';

export type AlertRoute = typeof alertRoutes.$inferSelect;

/** The installation an admin placed the alerts of this source under, if one did. */
export function findAlertRoute(db: Queryable, source: string): AlertRoute | undefined {
  return db.select().from(alertRoutes).where(eq(alertRoutes.source, source)).get();
}

export function saveAlertRoute(db: Queryable, route: AlertRoute): void {
  db.insert(alertRoutes)
    .values(route)
    .onConflictDoUpdate({ target: alertRoutes.source, set: { installationId: route.installationId, createdAt: route.createdAt, createdBy: route.createdBy } })
    .run();
}

/** Returns false when there was no such route. */
export function deleteAlertRoute(db: Queryable, source: string): boolean {
  return db.delete(alertRoutes).where(eq(alertRoutes.source, source)).run().changes > 0;
}

export function listAlertRoutes(db: Queryable) {
  return db
    .select({ source: alertRoutes.source, installationId: alertRoutes.installationId, installationName: installations.name, clientName: clients.name, createdAt: alertRoutes.createdAt, createdBy: alertRoutes.createdBy })
    .from(alertRoutes)
    .innerJoin(installations, eq(installations.id, alertRoutes.installationId))
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .orderBy(asc(alertRoutes.source))
    .all();
}
