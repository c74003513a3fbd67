import { eq } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { keyValue } from './schema.ts';

export function readValue<T>(db: Queryable, key: string): T | undefined {
  return db.select({ value: keyValue.value }).from(keyValue).where(eq(keyValue.key, key)).get()?.value as T | undefined;
}

export function writeValue(db: Queryable, key: string, value: unknown, at: Date): void {
  db.insert(keyValue)
    .values({ key, value, updatedAt: at })
    .onConflictDoUpdate({ target: keyValue.key, set: { value, updatedAt: at } })
    .run();
}

export function deleteValue(db: Queryable, key: string): void {
  db.delete(keyValue).where(eq(keyValue.key, key)).run();
}
