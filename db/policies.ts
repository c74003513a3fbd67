import { eq } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { prepared, rootOf } from './prepared.ts';
import { policies } from './schema.ts';

export const POLICY_KEYS = ['min-shell-version'] as const;
export type PolicyKey = (typeof POLICY_KEYS)[number];

export interface Policy {
  minShellVersion?: string;
}

export function getPolicy(db: Queryable): Policy {
  const root = rootOf(db);
  const rows = root ? prepared(root, 'policies.all', (d) => d.select().from(policies).prepare()).all() : db.select().from(policies).all();
  const value = (key: PolicyKey) => rows.find((r) => r.key === key)?.value;
  const minShellVersion = value('min-shell-version');
  return minShellVersion === undefined ? {} : { minShellVersion };
}

export function listPolicies(db: Queryable) {
  return db.select().from(policies).all();
}

export function setPolicy(db: Queryable, key: PolicyKey, value: string, at: Date, by: string): void {
  db.insert(policies)
    .values({ key, value, updatedAt: at, updatedBy: by })
    .onConflictDoUpdate({ target: policies.key, set: { value, updatedAt: at, updatedBy: by } })
    .run();
}

export function deletePolicy(db: Queryable, key: PolicyKey): boolean {
  return db.delete(policies).where(eq(policies.key, key)).run().changes > 0;
}
