import { eq, inArray, or } from 'drizzle-orm';
import type { Queryable } from '../db/open.ts';
import { clients, users } from '../db/schema.ts';
import type { User } from '../db/users.ts';

/** Whose clients a digest, /versions or /sales covers. */
export interface Scope {
  /** `all`, `team:<lead id>` or `manager:<id>`: also the key of campaign snapshots. */
  key: string;
  /** null: every client. */
  clientIds: number[] | null;
}

/** Admins see everyone; a lead their team (their managers' clients and their own); a manager their own. */
export function scopeOf(db: Queryable, user: User, personal = false): Scope {
  if (user.role === 'admin' && !personal) return { key: 'all', clientIds: null };
  if (user.role === 'lead' && !personal) {
    const team = db.select({ id: users.telegramId }).from(users).where(eq(users.leadId, user.telegramId)).all().map((u) => u.id);
    const ids = db
      .select({ id: clients.id })
      .from(clients)
      .where(or(eq(clients.managerId, user.telegramId), team.length ? inArray(clients.managerId, team) : undefined))
      .all()
      .map((c) => c.id);
    return { key: `team:${user.telegramId}`, clientIds: ids };
  }
  const ids = db.select({ id: clients.id }).from(clients).where(eq(clients.managerId, user.telegramId)).all().map((c) => c.id);
  return { key: `manager:${user.telegramId}`, clientIds: ids };
}
