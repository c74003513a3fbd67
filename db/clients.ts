import { asc, count, eq, getTableColumns } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { clients, installations } from './schema.ts';

export type Client = typeof clients.$inferSelect;
export type NewClient = typeof clients.$inferInsert;

export function insertClient(db: Queryable, client: NewClient): Client {
  return db.insert(clients).values(client).returning().get();
}

export function getClient(db: Queryable, id: number): Client | undefined {
  return db.select().from(clients).where(eq(clients.id, id)).get();
}

export function getClientByName(db: Queryable, name: string): Client | undefined {
  return db.select().from(clients).where(eq(clients.name, name)).get();
}

export function getClientByInn(db: Queryable, inn: string): Client | undefined {
  return db.select().from(clients).where(eq(clients.inn, inn)).get();
}

export interface ClientSummary extends Client {
  installationCount: number;
}

export function listClients(db: Queryable): ClientSummary[] {
  return db
    .select({ ...getTableColumns(clients), installationCount: count(installations.id) })
    .from(clients)
    .leftJoin(installations, eq(installations.clientId, clients.id))
    .groupBy(clients.id)
    .orderBy(asc(clients.name))
    .all();
}

export function updateClientManager(db: Queryable, clientId: number, managerId: number | null): void {
  db.update(clients).set({ managerId }).where(eq(clients.id, clientId)).run();
}

export function updateClientChat(db: Queryable, from: number, to: number): number {
  return db.update(clients).set({ chatId: to }).where(eq(clients.chatId, from)).run().changes;
}

/** Whether a chat is some client's notification chat: the only groups the bot talks in. */
export function isClientChat(db: Queryable, chatId: number): boolean {
  return db.select({ id: clients.id }).from(clients).where(eq(clients.chatId, chatId)).limit(1).get() !== undefined;
}

/** The clients whose alerts go to this chat (a group sees only them). */
export function listClientIdsOfChat(db: Queryable, chatId: number): number[] {
  return db.select({ id: clients.id }).from(clients).where(eq(clients.chatId, chatId)).all().map((c) => c.id);
}
