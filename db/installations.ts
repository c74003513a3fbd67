import { asc, eq, getTableColumns } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { clients, installations } from './schema.ts';

export type Installation = typeof installations.$inferSelect;
export type NewInstallation = typeof installations.$inferInsert;

export function insertInstallation(db: Queryable, installation: NewInstallation): Installation {
  return db.insert(installations).values(installation).returning().get();
}

export function getInstallation(db: Queryable, id: number): Installation | undefined {
  return db.select().from(installations).where(eq(installations.id, id)).get();
}

export function listInstallationsOfClient(db: Queryable, clientId: number): Installation[] {
  return db
    .select()
    .from(installations)
    .where(eq(installations.clientId, clientId))
    .orderBy(asc(installations.name))
    .all();
}

export interface InstallationWithClient extends Installation {
  clientName: string;
}

export function listInstallations(db: Queryable): InstallationWithClient[] {
  return db
    .select({ ...getTableColumns(installations), clientName: clients.name })
    .from(installations)
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .orderBy(asc(clients.name), asc(installations.name))
    .all();
}

/** What the intake needs to know about the installation a token belongs to. */
export interface TokenOwner {
  id: number;
  tokenHash: string;
  tz: string;
  monitoringEnabled: boolean;
}

export function findInstallationByTokenHash(db: Queryable, tokenHash: string): TokenOwner | undefined {
  return db
    .select({
      id: installations.id,
      tokenHash: installations.tokenHash,
      tz: installations.tz,
      monitoringEnabled: installations.monitoringEnabled,
    })
    .from(installations)
    .where(eq(installations.tokenHash, tokenHash))
    .get();
}

export function updateInstallation(
  db: Queryable,
  id: number,
  changes: Partial<Omit<NewInstallation, 'id' | 'clientId' | 'createdAt'>>,
): Installation {
  const row = db.update(installations).set(changes).where(eq(installations.id, id)).returning().get();
  if (!row) throw new Error(`installation ${id} vanished during update`);
  return row;
}
