import { eq } from 'drizzle-orm';
import type { Audience } from '../core/routing.ts';
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
  // Mail needs an address: without one, a person's alerts stay in Telegram whatever their channel says.
  const channel = (user: typeof users.$inferSelect) => (user.email === null ? 'telegram' : user.channel);
  return {
    clientChatId: client?.chatId ?? null,
    manager: manager ? { telegramId: manager.telegramId, active: manager.active, leadId: manager.leadId, channel: channel(manager) } : null,
    lead: lead ? { telegramId: lead.telegramId, active: lead.active, channel: channel(lead) } : null,
    admins: admins.map((a) => ({ telegramId: a.telegramId, active: a.active, channel: channel(a) })),
  };
}
