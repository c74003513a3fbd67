import { eq } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { isPostgres } from './dialect.ts';
import { ungated } from './gate.ts';
import { withTurn } from './transaction.ts';
import { prepared, rootOf } from './prepared.ts';
import { changedRows } from './query.ts';
import { policies } from './schema.ts';

export const POLICY_KEYS = ['min-shell-version'] as const;
export type PolicyKey = (typeof POLICY_KEYS)[number];

export interface Policy {
  minShellVersion?: string;
}

export async function getPolicy(db: Queryable): Promise<Policy> {
  const root = rootOf(db);
  const rows =
    root && !isPostgres(root)
      ? await withTurn(root, () => prepared(root, 'policies.all', (d) => ungated(d).select().from(policies).prepare()).all())
      : await db.select().from(policies);
  const value = (key: PolicyKey) => rows.find((r) => r.key === key)?.value;
  const minShellVersion = value('min-shell-version');
  return minShellVersion === undefined ? {} : { minShellVersion };
}

export async function listPolicies(db: Queryable) {
  return db.select().from(policies);
}

export async function setPolicy(db: Queryable, key: PolicyKey, value: string, at: Date, by: string): Promise<void> {
  await db
    .insert(policies)
    .values({ key, value, updatedAt: at, updatedBy: by })
    .onConflictDoUpdate({ target: policies.key, set: { value, updatedAt: at, updatedBy: by } });
}

export async function deletePolicy(db: Queryable, key: PolicyKey): Promise<boolean> {
  return changedRows(await db.delete(policies).where(eq(policies.key, key))) > 0;
}
