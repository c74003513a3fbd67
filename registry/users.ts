import { z } from 'zod';
import type { StaffRole } from '../core/errors.ts';
import type { QuietWindow } from '../core/quiet-hours.ts';
import { mailAddress } from '../core/mail-address.ts';
import { ALERT_CHANNELS, type AlertChannel } from '../db/schema.ts';
import { recordAudit } from '../db/audit.ts';
import type { Queryable } from '../db/open.ts';
import { getUser, insertUser, updateUser, type User } from '../db/users.ts';
import { inputError, notFound } from '../i18n/index.ts';
import type { RegistryContext } from './context.ts';
import { displayName, role, telegramUserId, validate } from './fields.ts';
import { writeTransaction } from '../db/transaction.ts';
import { endWebSessionsOf } from '../db/web-sessions.ts';

const newUserSchema = z.object({
  telegramId: telegramUserId,
  name: displayName(100),
  role,
  leadId: telegramUserId.optional(),
});

export type NewUserInput = z.input<typeof newUserSchema>;

export async function addUser(ctx: RegistryContext, input: NewUserInput): Promise<User> {
  const fields = validate(newUserSchema, input, 'user');
  return writeTransaction(ctx.db, async (tx) => createUser(tx, ctx, fields));
}

/** Insert a validated staff member inside the caller's transaction (shared with approving an access request). */
export async function createUser(tx: Queryable, ctx: RegistryContext, fields: z.output<typeof newUserSchema>): Promise<User> {
  if (await getUser(tx, fields.telegramId)) throw inputError('userExists', { id: fields.telegramId });
  if (fields.leadId !== undefined) await requireLead(tx, fields.leadId);
  const user = await insertUser(tx, { ...fields, leadId: fields.leadId ?? null, createdAt: ctx.clock() });
  await recordAudit(tx, {
    at: ctx.clock(),
    actor: ctx.actor,
    action: 'user.add',
    subjectType: 'user',
    subjectId: user.telegramId,
    details: { name: user.name, role: user.role, leadId: user.leadId },
  });
  return user;
}

/** A person's own quiet hours for warnings; null for the default (QUIET_HOURS). */
export async function setQuietHours(ctx: RegistryContext, telegramId: number, window: QuietWindow | null): Promise<User> {
  return writeTransaction(ctx.db, async (tx) => {
    const updated = await updateUser(tx, telegramId, { quietFrom: window?.from ?? null, quietTo: window?.to ?? null });
    await recordAudit(tx, {
      at: ctx.clock(),
      actor: ctx.actor,
      action: 'user.quiet-hours',
      subjectType: 'user',
      subjectId: telegramId,
      details: { from: updated.quietFrom, to: updated.quietTo },
    });
    return updated;
  });
}

/** A manager's personal morning digest, on or off. */
export async function setPersonalDigest(ctx: RegistryContext, telegramId: number, on: boolean): Promise<User> {
  return writeTransaction(ctx.db, async (tx) => {
    const updated = await updateUser(tx, telegramId, { personalDigest: on });
    await recordAudit(tx, { at: ctx.clock(), actor: ctx.actor, action: 'user.personal-digest', subjectType: 'user', subjectId: telegramId, details: { on } });
    return updated;
  });
}

async function requireLead(db: Queryable, leadId: number): Promise<void> {
  const lead = await getUser(db, leadId);
  if (!lead) throw inputError('leadUnknown', { id: leadId });
  if (lead.role === 'manager') throw inputError('leadIsManager', { id: leadId, name: lead.name });
  if (!lead.active) throw inputError('leadDisabled', { id: leadId, name: lead.name });
}

/** A staff member who can be responsible for clients. */
export async function requireActiveUser(db: Queryable, telegramId: number, role: StaffRole): Promise<User> {
  const user = await getUser(db, telegramId);
  if (!user) throw inputError('personUnknown', { role, id: telegramId });
  if (!user.active) throw inputError('personDisabled', { role, id: telegramId, name: user.name });
  return user;
}

/** Cut a person off (or let them back): their presses and commands are refused from this moment. */
export async function setUserActive(ctx: RegistryContext, telegramId: number, active: boolean): Promise<User> {
  return writeTransaction(ctx.db, async (tx) => {
    const user = await getUser(tx, telegramId);
    if (!user) throw notFound('userNotFound', { id: telegramId });
    if (user.active === active) return user;
    const updated = await updateUser(tx, telegramId, { active });
    await recordAudit(tx, { at: ctx.clock(), actor: ctx.actor, action: active ? 'user.enable' : 'user.disable', subjectType: 'user', subjectId: telegramId });
    // A person switched off loses their browser sessions at once.
    if (!active) await endWebSessionsOf(tx, telegramId, ctx.clock());
    return updated;
  });
}

/**
 * A person's e-mail address (null clears it) and where their alerts and
 * digest go. Mail needs an address: a channel with mail and no address is
 * refused, and clearing the address brings the channel back to Telegram.
 */
export async function setUserMail(ctx: RegistryContext, telegramId: number, change: { email?: string | null; channel?: string }): Promise<User> {
  const email = change.email === undefined || change.email === null ? change.email : mailAddress(change.email);
  if (email === null && change.email !== null && change.email !== undefined) throw inputError('emailInvalid', { text: change.email });
  if (change.channel !== undefined && !(ALERT_CHANNELS as readonly string[]).includes(change.channel)) throw inputError('channelInvalid', { text: change.channel });
  return writeTransaction(ctx.db, async (tx) => {
    const user = await getUser(tx, telegramId);
    if (!user) throw notFound('userNotFound', { id: telegramId });
    const nextEmail = email === undefined ? user.email : email;
    const nextChannel = (change.channel as AlertChannel | undefined) ?? (nextEmail === null ? 'telegram' : user.channel);
    if (nextChannel !== 'telegram' && nextEmail === null) throw inputError('channelNeedsEmail', { channel: nextChannel, id: telegramId });
    // A new address has not failed yet.
    const failure = nextEmail !== user.email ? { emailFailure: null, emailFailedAt: null } : {};
    const updated = await updateUser(tx, telegramId, { email: nextEmail, channel: nextChannel, ...failure });
    await recordAudit(tx, { at: ctx.clock(), actor: ctx.actor, action: 'user.mail', subjectType: 'user', subjectId: telegramId, details: { email: nextEmail, channel: nextChannel } });
    return updated;
  });
}

/** Make sure the configured admins exist and are admins (ADMIN_IDS). */
export async function bootstrapAdmins(ctx: RegistryContext, telegramIds: readonly number[]): Promise<void> {
  await writeTransaction(ctx.db, async (tx) => {
    for (const telegramId of telegramIds) {
      const user = await getUser(tx, telegramId);
      if (user && user.role === 'admin' && user.active) continue;
      if (user) await updateUser(tx, telegramId, { role: 'admin', active: true });
      else await insertUser(tx, { telegramId, name: `Администратор ${telegramId}`, role: 'admin', createdAt: ctx.clock() });
      await recordAudit(tx, { at: ctx.clock(), actor: ctx.actor, action: 'user.bootstrap-admin', subjectType: 'user', subjectId: telegramId });
    }
  });
}
