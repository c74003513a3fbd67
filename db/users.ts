import { asc, eq } from 'drizzle-orm';
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
