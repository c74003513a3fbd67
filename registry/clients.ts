import { z } from 'zod';
import { recordAudit } from '../db/audit.ts';
import { getClient, getClientByInn, getClientByName, insertClient, updateClientManager, type Client } from '../db/clients.ts';
import type { User } from '../db/users.ts';
import type { Queryable } from '../db/open.ts';
import { bumpRegistryVersion } from '../db/search-index.ts';
import type { RegistryContext } from './context.ts';
import { displayName, inn, telegramChatId, telegramUserId, validate } from './fields.ts';
import { requireActiveUser } from './users.ts';
import { inputError, notFound } from '../i18n/index.ts';
import { writeTransaction } from '../db/transaction.ts';

export const newClientSchema = z.object({
  name: displayName(200),
  inn: inn.optional(),
  managerId: telegramUserId.optional(),
  chatId: telegramChatId.optional(),
});

export type NewClientInput = z.input<typeof newClientSchema>;

export async function addClient(ctx: RegistryContext, input: NewClientInput): Promise<Client> {
  return writeTransaction(ctx.db, async (tx) => createClient(tx, ctx, validate(newClientSchema, input, 'client')));
}

/** Insert a validated client inside the caller's transaction (shared with the CSV import). */
export async function createClient(
  tx: Queryable,
  ctx: RegistryContext,
  fields: z.output<typeof newClientSchema>,
): Promise<Client> {
  const sameName = await getClientByName(tx, fields.name);
  if (sameName) throw inputError('clientNameTaken', { name: fields.name, id: sameName.id });
  if (fields.inn) {
    const sameInn = await getClientByInn(tx, fields.inn);
    if (sameInn) throw inputError('innTaken', { inn: fields.inn, name: sameInn.name, id: sameInn.id });
  }
  if (fields.managerId !== undefined) await requireActiveUser(tx, fields.managerId, 'manager');
  const client = await insertClient(tx, {
    name: fields.name,
    inn: fields.inn ?? null,
    managerId: fields.managerId ?? null,
    chatId: fields.chatId ?? null,
    createdAt: ctx.clock(),
  });
  await bumpRegistryVersion(tx, ctx.clock());
  await recordAudit(tx, {
    at: ctx.clock(),
    actor: ctx.actor,
    action: 'client.add',
    subjectType: 'client',
    subjectId: client.id,
    details: { name: client.name, inn: client.inn, managerId: client.managerId, chatId: client.chatId },
  });
  return client;
}

/** Give a client a new responsible manager (an active staff member). */
export async function assignManager(ctx: RegistryContext, clientRef: string, managerRef: string | number): Promise<{ client: Client; manager: User }> {
  const { managerId } = validate(z.object({ managerId: telegramUserId }), { managerId: managerRef }, 'client');
  return writeTransaction(ctx.db, async (tx) => {
    const client = await resolveClient(tx, clientRef);
    const manager = await requireActiveUser(tx, managerId, 'manager');
    await updateClientManager(tx, client.id, manager.telegramId);
    await recordAudit(tx, {
      at: ctx.clock(),
      actor: ctx.actor,
      action: 'client.assign',
      subjectType: 'client',
      subjectId: client.id,
      details: { from: client.managerId, to: manager.telegramId },
    });
    return { client: { ...client, managerId: manager.telegramId }, manager };
  });
}

/** A client by numeric id or by exact name. */
export async function resolveClient(db: Queryable, ref: string): Promise<Client> {
  const trimmed = ref.trim();
  const byId = /^\d+$/.test(trimmed) ? await getClient(db, Number(trimmed)) : undefined;
  const client = byId ?? (await getClientByName(db, trimmed));
  if (!client) throw notFound('clientNotFound', { ref: trimmed });
  return client;
}
