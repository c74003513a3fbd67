import { eq } from 'drizzle-orm';
import type { Audience } from '../core/routing.ts';
import { readValue, writeValue } from './key-value.ts';
import type { Queryable } from './open.ts';
import { first } from './query.ts';
import { clients, users } from './schema.ts';

/** Everyone who may need to hear about a client's incidents. */
export async function loadAudience(db: Queryable, clientId: number): Promise<Audience> {
  const client = await first(db.select().from(clients).where(eq(clients.id, clientId)));
  const manager =
    client?.managerId == null ? undefined : await first(db.select().from(users).where(eq(users.telegramId, client.managerId)));
  const lead = manager?.leadId == null ? undefined : await first(db.select().from(users).where(eq(users.telegramId, manager.leadId)));
  const admins = await db.select().from(users).where(eq(users.role, 'admin'));
  // Mail needs a mail server and an address it takes: without them, a person's alerts stay in Telegram whatever their channel says.
  // Whether the service sends mail is asked only when someone here wants it (most audiences: nobody).
  const wantsMail = (user: typeof users.$inferSelect | undefined) => user !== undefined && user.channel !== 'telegram' && mailable(user);
  const mail = [manager, lead, ...admins].some(wantsMail) && (await readValue<{ on: boolean }>(db, MAIL_SWITCH))?.on === true;
  const channel = (user: typeof users.$inferSelect) => (mail && wantsMail(user) ? user.channel : 'telegram');
  return {
    clientChatId: client?.chatId ?? null,
    manager: manager ? { telegramId: manager.telegramId, active: manager.active, leadId: manager.leadId, channel: channel(manager) } : null,
    lead: lead ? { telegramId: lead.telegramId, active: lead.active, channel: channel(lead) } : null,
    admins: admins.map((a) => ({ telegramId: a.telegramId, active: a.active, channel: channel(a) })),
  };
}

/** A person mail can reach: an address, and not one the mail server refused (db/users.ts noteEmailFailure). */
export function mailable(user: { email: string | null; emailFailure: string | null }): boolean {
  return user.email !== null && user.emailFailure === null;
}

/** Whether the service can send mail (SMTP_URL set), as the service said at its start. */
const MAIL_SWITCH = 'mail-configured';

/**
 * The service says at start whether it sends mail. Alerts follow a person's
 * mail channel only while it does: a channel set to e-mail on a service
 * without a mail server (or whose SMTP_URL was removed) would otherwise
 * swallow their alerts.
 */
export async function noteMailConfigured(db: Queryable, on: boolean, at: Date): Promise<void> {
  await writeValue(db, MAIL_SWITCH, { on }, at);
}
