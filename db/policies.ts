import { eq } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { statement } from './statements.ts';
import { changedRows } from './query.ts';
import { policies } from './schema.ts';

export const POLICY_KEYS = ['min-shell-version'] as const;
export type PolicyKey = (typeof POLICY_KEYS)[number];

export interface Policy {
  minShellVersion?: string;
}

const allPolicies = statement('policies.all', 'SELECT key, value FROM policies');

/** The fleet's policy: read for every batch of reports and every sweep batch, by a prepared raw statement. */
export async function getPolicy(db: Queryable): Promise<Policy> {
  const rows = await allPolicies.all<{ key: string; value: string }>(db);
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
