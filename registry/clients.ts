import { z } from 'zod';
import { InputError, NotFoundError } from '../core/errors.ts';
import { recordAudit } from '../db/audit.ts';
import { getClient, getClientByInn, getClientByName, insertClient, type Client } from '../db/clients.ts';
import type { Queryable } from '../db/open.ts';
import { bumpRegistryVersion } from '../db/search-index.ts';
import type { RegistryContext } from './context.ts';
import { displayName, inn, telegramChatId, telegramUserId, validate } from './fields.ts';
import { requireActiveUser } from './users.ts';

export const newClientSchema = z.object({
  name: displayName(200),
  inn: inn.optional(),
  managerId: telegramUserId.optional(),
  chatId: telegramChatId.optional(),
});

export type NewClientInput = z.input<typeof newClientSchema>;

export function addClient(ctx: RegistryContext, input: NewClientInput): Client {
  return ctx.db.transaction((tx) => createClient(tx, ctx, validate(newClientSchema, input, 'client')), {
    behavior: 'immediate',
  });
}

/** Insert a validated client inside the caller's transaction (shared with the CSV import). */
export function createClient(
  tx: Queryable,
  ctx: RegistryContext,
  fields: z.output<typeof newClientSchema>,
): Client {
  const sameName = getClientByName(tx, fields.name);
  if (sameName) throw new InputError(`a client named "${fields.name}" already exists (id ${sameName.id})`);
  if (fields.inn) {
    const sameInn = getClientByInn(tx, fields.inn);
    if (sameInn) throw new InputError(`INN ${fields.inn} already belongs to "${sameInn.name}" (id ${sameInn.id})`);
  }
  if (fields.managerId !== undefined) requireActiveUser(tx, fields.managerId, 'manager');
  const client = insertClient(tx, {
    name: fields.name,
    inn: fields.inn ?? null,
    managerId: fields.managerId ?? null,
    chatId: fields.chatId ?? null,
    createdAt: ctx.clock(),
  });
  bumpRegistryVersion(tx, ctx.clock());
  recordAudit(tx, {
    at: ctx.clock(),
    actor: ctx.actor,
    action: 'client.add',
    subjectType: 'client',
    subjectId: client.id,
    details: { name: client.name, inn: client.inn, managerId: client.managerId, chatId: client.chatId },
  });
  return client;
}

/** A client by numeric id or by exact name. */
export function resolveClient(db: Queryable, ref: string): Client {
  const trimmed = ref.trim();
  const byId = /^\d+$/.test(trimmed) ? getClient(db, Number(trimmed)) : undefined;
  const client = byId ?? getClientByName(db, trimmed);
  if (!client) throw new NotFoundError(`no client with id or name "${trimmed}"`);
  return client;
}
