import { newUploadToken } from '../core/agent-token.ts';
import { parseSubnet } from '../core/subnets.ts';
import { applyReport } from '../core/state.ts';
import { recordAudit } from '../db/audit.ts';
import { recheckNow } from '../db/check-schedule.ts';
import { findInstallationByUploadName, assignUnmatchedUploads, getUploadToken, insertUploadToken, revokeUploadToken as markRevoked, type Upload, type UploadToken } from '../db/uploads.ts';
import { updateInstallation, type Installation } from '../db/installations.ts';
import type { Tx } from '../db/open.ts';
import { getState, saveState } from '../db/state.ts';
import { writeTransaction } from '../db/transaction.ts';
import { inputError, notFound } from '../i18n/index.ts';
import type { RegistryContext } from './context.ts';
import { displayName, UPLOAD_NAME, validate } from './fields.ts';
import { requireInstallation } from './installations.ts';


/**
 * A fleet upload token for a distributor's scripts: shown once, stored
 * hashed. It may be held to upload names (any case) and to the networks its
 * scripts send from (CIDR, IPv4 or IPv6); without them it takes any name from
 * anywhere, as SMART's does.
 */
export async function createUploadToken(ctx: RegistryContext, label: string, limits: { names?: readonly string[]; networks?: readonly string[] } = {}): Promise<{ uploadToken: UploadToken; token: string }> {
  const cleanLabel = validate(displayName(100), label, 'label');
  const names = limits.names?.map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names ?? []) if (!UPLOAD_NAME.test(name)) throw inputError('uploadNameInvalid', { name });
  const networks = limits.networks?.map((network) => network.trim()).filter((network) => network !== '');
  for (const network of networks ?? []) if (!parseSubnet(network)) throw inputError('uploadNetworkInvalid', { network });
  return writeTransaction(ctx.db, async (tx) => {
    const { token, hash } = newUploadToken();
    const now = ctx.clock();
    const held = { names: names?.length ? names : null, networks: networks?.length ? networks : null };
    const uploadToken = await insertUploadToken(tx, { label: cleanLabel, tokenHash: hash, createdAt: now, createdBy: ctx.actor, ...held });
    await recordAudit(tx, { at: now, actor: ctx.actor, action: 'upload-token.create', subjectType: 'upload-token', subjectId: uploadToken.id, details: { label: cleanLabel, ...held } });
    return { uploadToken, token };
  });
}

/** Revoke a fleet upload token: uploads under it are refused from now on. */
export async function revokeUploadToken(ctx: RegistryContext, ref: string): Promise<UploadToken> {
  return writeTransaction(ctx.db, async (tx) => {
    const id = /^\d+$/.test(ref.trim()) ? Number(ref.trim()) : NaN;
    const existing = Number.isSafeInteger(id) ? await getUploadToken(tx, id) : undefined;
    if (!existing) throw notFound('uploadTokenNotFound', { id: ref });
    if (existing.revokedAt) throw inputError('uploadTokenRevoked', { id: existing.id });
    const now = ctx.clock();
    await markRevoked(tx, existing.id, now);
    await recordAudit(tx, { at: now, actor: ctx.actor, action: 'upload-token.revoke', subjectType: 'upload-token', subjectId: existing.id });
    return (await getUploadToken(tx, existing.id))!;
  });
}

/**
 * Give an installation the name its files are uploaded under with a fleet
 * token ("-" clears it). Files already uploaded under that name with nowhere
 * to go are attached to it, and count.
 */
export async function setUploadName(ctx: RegistryContext, ref: string | number, name: string): Promise<{ installation: Installation; attached: number }> {
  const wanted = name.trim() === '-' ? null : name.trim();
  if (wanted !== null && !UPLOAD_NAME.test(wanted)) throw inputError('uploadNameInvalid', { name });
  return writeTransaction(ctx.db, async (tx) => {
    const existing = await requireInstallation(tx, ref);
    if (wanted !== null) {
      const holder = await findInstallationByUploadName(tx, wanted);
      if (holder && holder.id !== existing.id) throw inputError('uploadNameTaken', { name: wanted, id: holder.id, installation: holder.name });
    }
    const installation = await updateInstallation(tx, existing.id, { uploadName: wanted });
    const attached = wanted === null ? [] : await attach(tx, ctx, installation, wanted);
    await recordAudit(tx, {
      at: ctx.clock(),
      actor: ctx.actor,
      action: 'installation.upload-name',
      subjectType: 'installation',
      subjectId: installation.id,
      details: { uploadName: wanted, attached: attached.length },
    });
    return { installation, attached: attached.length };
  });
}

/**
 * Attach the files uploaded under a name no installation had to an
 * installation, giving it that name: they count as received from it (its
 * newest file is its latest sign of life).
 */
export async function assignUploads(ctx: RegistryContext, name: string, ref: string | number): Promise<{ installation: Installation; attached: number }> {
  const trimmed = name.trim();
  return writeTransaction(ctx.db, async (tx) => {
    const target = await requireInstallation(tx, ref);
    const holder = await findInstallationByUploadName(tx, trimmed);
    if (holder && holder.id !== target.id) throw inputError('uploadNameTaken', { name: trimmed, id: holder.id, installation: holder.name });
    const installation = holder ? target : await updateInstallation(tx, target.id, { uploadName: trimmed });
    const attached = await attach(tx, ctx, installation, trimmed);
    if (attached.length === 0) throw inputError('uploadsNotUnmatched', { name: trimmed });
    await recordAudit(tx, { at: ctx.clock(), actor: ctx.actor, action: 'uploads.assign', subjectType: 'installation', subjectId: installation.id, details: { name: trimmed, files: attached.length } });
    return { installation, attached: attached.length };
  });
}

async function attach(tx: Tx, ctx: RegistryContext, installation: Installation, name: string): Promise<Upload[]> {
  const attached = await assignUnmatchedUploads(tx, name, installation.id);
  // The newest sysinfo and the newest metrics file are signs of life, as reports are; what they hold is read elsewhere.
  // The state's statements are prepared on the connection, which the transaction runs on.
  let state = await getState(ctx.db, installation.id);
  let changed = false;
  for (const evidence of ['sysinfo', 'status'] as const) {
    const newest = attached.filter((upload) => (upload.kind === 'status') === (evidence === 'status')).at(-1);
    const known = evidence === 'status' ? state?.lastStatusAt : state?.lastSysinfoAt;
    if (!newest || (known && known.getTime() >= newest.receivedAt.getTime())) continue;
    const report = { reportId: `upload:${newest.id}`, contentHash: newest.sha256.slice(0, 32), formatVersion: 1, generatedAt: null, facts: {} };
    const next = applyReport(state, report, newest.receivedAt, { evidence });
    // An older file than what was last heard moves only its own kind's time.
    state = state && state.lastReceivedAt.getTime() > newest.receivedAt.getTime() ? { ...next, lastReceivedAt: state.lastReceivedAt } : next;
    changed = true;
  }
  if (state && changed) {
    await saveState(ctx.db, installation.id, state);
    await recheckNow(tx, installation.id, ctx.clock());
  }
  return attached;
}
