import { and, asc, eq, isNotNull, isNull, ne, or, sql } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { first } from './query.ts';
import { users } from './schema.ts';

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;

export async function insertUser(db: Queryable, user: NewUser): Promise<User> {
  return (await first(db.insert(users).values(user).returning()))!;
}

export async function getUser(db: Queryable, telegramId: number): Promise<User | undefined> {
  return first(db.select().from(users).where(eq(users.telegramId, telegramId)));
}

export async function listUsers(db: Queryable): Promise<User[]> {
  return db.select().from(users).orderBy(asc(users.role), asc(users.name));
}

export async function updateUser(db: Queryable, telegramId: number, changes: Partial<Omit<NewUser, 'telegramId'>>): Promise<User> {
  const row = await first(db.update(users).set(changes).where(eq(users.telegramId, telegramId)).returning());
  if (!row) throw new Error(`user ${telegramId} vanished during update`);
  return row;
}

export async function listActiveAdmins(db: Queryable): Promise<User[]> {
  return db.select().from(users).where(and(eq(users.role, 'admin'), eq(users.active, true)));
}

/** Who gets a digest: active team leads and admins, and managers who asked for their own. */
export async function listDigestRecipients(db: Queryable): Promise<User[]> {
  return db
    .select()
    .from(users)
    .where(and(eq(users.active, true), or(eq(users.role, 'lead'), eq(users.role, 'admin'), eq(users.personalDigest, true))));
}

/** A person's own quiet hours (minutes of the day), or undefined when they keep the default. */
export async function getQuietHours(db: Queryable, telegramId: number): Promise<{ from: number; to: number } | undefined> {
  const row = await first(db.select({ from: users.quietFrom, to: users.quietTo }).from(users).where(eq(users.telegramId, telegramId)));
  return row?.from != null && row.to != null ? { from: row.from, to: row.to } : undefined;
}

export async function getUserName(db: Queryable, telegramId: number): Promise<string | undefined> {
  return (await first(db.select({ name: users.name }).from(users).where(eq(users.telegramId, telegramId))))?.name;
}

/**
 * The mail server refused a person's address (5xx): noted on them, for their
 * card. True only when the address was not failing already, so whoever is
 * told hears of it once, not at every mail.
 */
export async function noteEmailFailure(db: Queryable, telegramId: number, address: string, failure: string, at: Date): Promise<boolean> {
  const rows = await db
    .update(users)
    .set({ emailFailure: failure.slice(0, 500), emailFailedAt: at })
    .where(and(eq(users.telegramId, telegramId), eq(users.email, address), isNull(users.emailFailure)))
    .returning({ id: users.telegramId });
  return rows.length > 0;
}

/** A mail to this address went through: it is not failing any more. */
export async function clearEmailFailure(db: Queryable, telegramId: number, address: string): Promise<void> {
  await db
    .update(users)
    .set({ emailFailure: null, emailFailedAt: null })
    .where(and(eq(users.telegramId, telegramId), eq(users.email, address), isNotNull(users.emailFailure)));
}

/** How many people have their alerts set to come by mail (with an address). */
export async function countMailChannels(db: Queryable): Promise<number> {
  const row = await first(db.select({ n: sql<number>`count(*)` }).from(users).where(and(ne(users.channel, 'telegram'), isNotNull(users.email))));
  return Number(row?.n ?? 0);
}
