import { z } from 'zod';
import { InputError, NotFoundError } from '../core/errors.ts';
import { recordAudit } from '../db/audit.ts';
import type { Queryable } from '../db/open.ts';
import { getUser, insertUser, updateUser, type User } from '../db/users.ts';
import type { RegistryContext } from './context.ts';
import { displayName, role, telegramUserId, validate } from './fields.ts';

const newUserSchema = z.object({
  telegramId: telegramUserId,
  name: displayName(100),
  role,
  leadId: telegramUserId.optional(),
});

export type NewUserInput = z.input<typeof newUserSchema>;

export function addUser(ctx: RegistryContext, input: NewUserInput): User {
  const fields = validate(newUserSchema, input, 'user');
  return ctx.db.transaction(
    (tx) => {
      if (getUser(tx, fields.telegramId)) throw new InputError(`user ${fields.telegramId} already exists`);
      if (fields.leadId !== undefined) requireLead(tx, fields.leadId);
      const user = insertUser(tx, { ...fields, leadId: fields.leadId ?? null, createdAt: ctx.clock() });
      recordAudit(tx, {
        at: ctx.clock(),
        actor: ctx.actor,
        action: 'user.add',
        subjectType: 'user',
        subjectId: user.telegramId,
        details: { name: user.name, role: user.role, leadId: user.leadId },
      });
      return user;
    },
    { behavior: 'immediate' },
  );
}

function requireLead(db: Queryable, leadId: number): void {
  const lead = getUser(db, leadId);
  if (!lead) throw new InputError(`lead ${leadId} is not a registered user; add them first`);
  if (lead.role === 'manager') throw new InputError(`user ${leadId} (${lead.name}) is a manager, not a lead`);
  if (!lead.active) throw new InputError(`lead ${leadId} (${lead.name}) is disabled`);
}

/** A staff member who can be responsible for clients. */
export function requireActiveUser(db: Queryable, telegramId: number, what: string): User {
  const user = getUser(db, telegramId);
  if (!user) throw new InputError(`${what} ${telegramId} is not a registered user; add them with "dozor user add"`);
  if (!user.active) throw new InputError(`${what} ${telegramId} (${user.name}) is disabled`);
  return user;
}

/** Cut a person off (or let them back): their presses and commands are refused from this moment. */
export function setUserActive(ctx: RegistryContext, telegramId: number, active: boolean): User {
  return ctx.db.transaction(
    (tx) => {
      const user = getUser(tx, telegramId);
      if (!user) throw new NotFoundError(`no user with Telegram id ${telegramId}`);
      if (user.active === active) return user;
      const updated = updateUser(tx, telegramId, { active });
      recordAudit(tx, { at: ctx.clock(), actor: ctx.actor, action: active ? 'user.enable' : 'user.disable', subjectType: 'user', subjectId: telegramId });
      return updated;
    },
    { behavior: 'immediate' },
  );
}

/** Make sure the configured admins exist and are admins (ADMIN_IDS). */
export function bootstrapAdmins(ctx: RegistryContext, telegramIds: readonly number[]): void {
  ctx.db.transaction(
    (tx) => {
      for (const telegramId of telegramIds) {
        const user = getUser(tx, telegramId);
        if (user && user.role === 'admin' && user.active) continue;
        if (user) updateUser(tx, telegramId, { role: 'admin', active: true });
        else insertUser(tx, { telegramId, name: `Admin ${telegramId}`, role: 'admin', createdAt: ctx.clock() });
        recordAudit(tx, { at: ctx.clock(), actor: ctx.actor, action: 'user.bootstrap-admin', subjectType: 'user', subjectId: telegramId });
      }
    },
    { behavior: 'immediate' },
  );
}
