import { asc, count, eq, getTableColumns } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { changedRows, first } from './query.ts';
import { clients, installations } from './schema.ts';

export type Client = typeof clients.$inferSelect;
export type NewClient = typeof clients.$inferInsert;

export async function insertClient(db: Queryable, client: NewClient): Promise<Client> {
  return (await first(db.insert(clients).values(client).returning()))!;
}

export async function getClient(db: Queryable, id: number): Promise<Client | undefined> {
  return first(db.select().from(clients).where(eq(clients.id, id)));
}

export async function getClientByName(db: Queryable, name: string): Promise<Client | undefined> {
  return first(db.select().from(clients).where(eq(clients.name, name)));
}

export async function getClientByInn(db: Queryable, inn: string): Promise<Client | undefined> {
  return first(db.select().from(clients).where(eq(clients.inn, inn)));
}

export interface ClientSummary extends Client {
  installationCount: number;
}

export async function listClients(db: Queryable): Promise<ClientSummary[]> {
  return db
    .select({ ...getTableColumns(clients), installationCount: count(installations.id) })
    .from(clients)
    .leftJoin(installations, eq(installations.clientId, clients.id))
    .groupBy(clients.id)
    .orderBy(asc(clients.name));
}

export async function updateClientManager(db: Queryable, clientId: number, managerId: number | null): Promise<void> {
  await db.update(clients).set({ managerId }).where(eq(clients.id, clientId));
}

export async function updateClientChat(db: Queryable, from: number, to: number): Promise<number> {
  return changedRows(await db.update(clients).set({ chatId: to }).where(eq(clients.chatId, from)));
}

/** Whether a chat is some client's notification chat: the only groups the bot talks in. */
export async function isClientChat(db: Queryable, chatId: number): Promise<boolean> {
  return (await first(db.select({ id: clients.id }).from(clients).where(eq(clients.chatId, chatId)).limit(1))) !== undefined;
}

/** The clients whose alerts go to this chat (a group sees only them). */
export async function listClientIdsOfChat(db: Queryable, chatId: number): Promise<number[]> {
  return (await db.select({ id: clients.id }).from(clients).where(eq(clients.chatId, chatId))).map((c) => c.id);
}
