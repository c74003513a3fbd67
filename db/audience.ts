import { eq } from 'drizzle-orm';
import type { Audience } from '../core/routing.ts';
import type { Queryable } from './open.ts';
import { clients, users } from './schema.ts';

/** Everyone who may need to hear about a client's incidents. */
export function loadAudience(db: Queryable, clientId: number): Audience {
  const client = db.select().from(clients).where(eq(clients.id, clientId)).get();
  const manager =
    client?.managerId == null ? undefined : db.select().from(users).where(eq(users.telegramId, client.managerId)).get();
  const lead = manager?.leadId == null ? undefined : db.select().from(users).where(eq(users.telegramId, manager.leadId)).get();
  const admins = db.select().from(users).where(eq(users.role, 'admin')).all();
  return {
    clientChatId: client?.chatId ?? null,
    manager: manager ? { telegramId: manager.telegramId, active: manager.active, leadId: manager.leadId } : null,
    lead: lead ? { telegramId: lead.telegramId, active: lead.active } : null,
    admins: admins.map((a) => ({ telegramId: a.telegramId, active: a.active })),
  };
}
