import { and, asc, eq, or } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { users } from './schema.ts';

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;

export function insertUser(db: Queryable, user: NewUser): User {
  return db.insert(users).values(user).returning().get();
}

export function getUser(db: Queryable, telegramId: number): User | undefined {
  return db.select().from(users).where(eq(users.telegramId, telegramId)).get();
}

export function listUsers(db: Queryable): User[] {
  return db.select().from(users).orderBy(asc(users.role), asc(users.name)).all();
}

export function updateUser(db: Queryable, telegramId: number, changes: Partial<Omit<NewUser, 'telegramId'>>): User {
  const row = db.update(users).set(changes).where(eq(users.telegramId, telegramId)).returning().get();
  if (!row) throw new Error(`user ${telegramId} vanished during update`);
  return row;
}

export function listActiveAdmins(db: Queryable): User[] {
  return db.select().from(users).where(and(eq(users.role, 'admin'), eq(users.active, true))).all();
}

/** Who gets a digest: active team leads and admins, and managers who asked for their own. */
export function listDigestRecipients(db: Queryable): User[] {
  return db
    .select()
    .from(users)
    .where(and(eq(users.active, true), or(eq(users.role, 'lead'), eq(users.role, 'admin'), eq(users.personalDigest, true))))
    .all();
}

/** A person's own quiet hours (minutes of the day), or undefined when they keep the default. */
export function getQuietHours(db: Queryable, telegramId: number): { from: number; to: number } | undefined {
  const row = db.select({ from: users.quietFrom, to: users.quietTo }).from(users).where(eq(users.telegramId, telegramId)).get();
  return row?.from != null && row.to != null ? { from: row.from, to: row.to } : undefined;
}

export function getUserName(db: Queryable, telegramId: number): string | undefined {
  return db.select({ name: users.name }).from(users).where(eq(users.telegramId, telegramId)).get()?.name;
}
