import { eq } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { first } from './query.ts';
import { keyValue } from './schema.ts';

export async function readValue<T>(db: Queryable, key: string): Promise<T | undefined> {
  return (await first(db.select({ value: keyValue.value }).from(keyValue).where(eq(keyValue.key, key))))?.value as T | undefined;
}

export async function writeValue(db: Queryable, key: string, value: unknown, at: Date): Promise<void> {
  await db
    .insert(keyValue)
    .values({ key, value, updatedAt: at })
    .onConflictDoUpdate({ target: keyValue.key, set: { value, updatedAt: at } });
}

export async function deleteValue(db: Queryable, key: string): Promise<void> {
  await db.delete(keyValue).where(eq(keyValue.key, key));
}

/** Store `value` under `key` unless a value is there already; the value stored either way (the first writer's). */
export async function claimValue<T>(db: Queryable, key: string, value: T, at: Date): Promise<T> {
  await db.insert(keyValue).values({ key, value, updatedAt: at }).onConflictDoNothing();
  return (await readValue<T>(db, key)) as T;
}
