import { and, asc, eq } from 'drizzle-orm';
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
