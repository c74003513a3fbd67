import { z } from 'zod';
import { openSecret, sealSecret } from '../core/secret-box.ts';
import { recordAudit } from '../db/audit.ts';
import { updateInstallation, type Installation } from '../db/installations.ts';
import { writeTransaction } from '../db/transaction.ts';
import { inputError } from '../i18n/index.ts';
import type { RegistryContext } from './context.ts';
import { scriptSetting, validate } from './fields.ts';
import { requireInstallation } from './installations.ts';

const accountSchema = z.object({ metricsUser: scriptSetting(200), metricsPassword: scriptSetting(200) });

/** The sealed password is bound to its installation: copied to another row, it does not open. */
const contextOf = (installationId: number) => `installation:${installationId}:metrics`;

/**
 * Set (or, with null, clear) the account dozor reads an installation's
 * `/sysmon/metrics` with. The password is sealed with SECRET_KEY before it is
 * written and never shown back; the audit row says only that it changed.
 */
export async function setMetricsAccount(
  ctx: RegistryContext,
  ref: string | number,
  account: { user: string; password: string } | null,
  secretKey: string | undefined,
): Promise<Installation> {
  const valid = account ? validate(accountSchema, { metricsUser: account.user, metricsPassword: account.password }, 'installation') : null;
  if (valid && !secretKey) throw inputError('secretKeyMissing', {});
  return writeTransaction(ctx.db, async (tx) => {
    const existing = await requireInstallation(tx, ref);
    const changed = await updateInstallation(tx, existing.id, {
      metricsUser: valid?.metricsUser ?? null,
      metricsSecret: valid ? sealSecret(secretKey!, contextOf(existing.id), valid.metricsPassword) : null,
    });
    await recordAudit(tx, {
      at: ctx.clock(),
      actor: ctx.actor,
      action: valid ? 'installation.metrics-account' : 'installation.metrics-account-clear',
      subjectType: 'installation',
      subjectId: existing.id,
      details: valid ? { user: valid.metricsUser } : {},
    });
    return changed;
  });
}

/** The installation's metrics account in clear, or null when it has none or SECRET_KEY cannot open it. */
export function metricsAccountOf(installation: Pick<Installation, 'id' | 'metricsUser' | 'metricsSecret'>, secretKey: string): { user: string; password: string } | null {
  if (!installation.metricsUser || !installation.metricsSecret) return null;
  const password = openSecret(secretKey, contextOf(installation.id), installation.metricsSecret);
  return password === null ? null : { user: installation.metricsUser, password };
}
