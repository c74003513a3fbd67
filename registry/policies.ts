import { isVersion } from '../core/versions.ts';
import { recordAudit } from '../db/audit.ts';
import { recheckAllNow } from '../db/check-schedule.ts';
import { deletePolicy, POLICY_KEYS, setPolicy, type PolicyKey } from '../db/policies.ts';
import type { RegistryContext } from './context.ts';
import { inputError } from '../i18n/index.ts';
import { writeTransaction } from '../db/transaction.ts';

export function requirePolicyKey(key: string): PolicyKey {
  if (!(POLICY_KEYS as readonly string[]).includes(key)) {
    throw inputError('policyUnknown', { key, known: POLICY_KEYS.join(', ') });
  }
  return key as PolicyKey;
}

/** Set a fleet-wide policy; every installation is judged again at the next sweep. */
export async function changePolicy(ctx: RegistryContext, key: PolicyKey, value: string | null): Promise<void> {
  if (value !== null && key === 'min-shell-version' && !isVersion(value)) {
    throw inputError('policyVersion', { value });
  }
  await writeTransaction(ctx.db, async (tx) => {
    const now = ctx.clock();
    if (value === null) await deletePolicy(tx, key);
    else await setPolicy(tx, key, value.trim(), now, ctx.actor);
    await recheckAllNow(tx, now);
    await recordAudit(tx, { at: now, actor: ctx.actor, action: value === null ? 'policy.unset' : 'policy.set', subjectType: 'policy', subjectId: key, details: { value } });
  });
}
