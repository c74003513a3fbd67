import { isIP } from 'node:net';
import { z } from 'zod';
import { newAgentToken } from '../core/agent-token.ts';
import { parseDuration } from '../core/duration.ts';
import { getRule, isRuleId, type RuleId, type ThresholdValue } from '../core/rules.ts';
import { isVersion } from '../core/versions.ts';
import { recordAudit, recordAudits } from '../db/audit.ts';
import { recheckNow, unschedule } from '../db/check-schedule.ts';
import type { Client } from '../db/clients.ts';
import {
  getInstallation,
  insertInstallations,
  listInstallationNames,
  updateInstallation,
  type Installation,
} from '../db/installations.ts';
import { listActiveIncidents } from '../db/incidents.ts';
import { findInstallationByUploadName } from '../db/uploads.ts';
import type { Queryable } from '../db/open.ts';
import { bumpRegistryVersion } from '../db/search-index.ts';
import { resolveIncident } from '../incidents/lifecycle.ts';
import type { RegistryContext } from './context.ts';
import { displayName, hostName, ipAddress, kind, timeZone, uploadName, validate, webUrl } from './fields.ts';
import { resolveClient } from './clients.ts';
import { inputError, notFound } from '../i18n/index.ts';
import { writeTransaction } from '../db/transaction.ts';
import { LICMAN_PORT } from '../core/report.ts';

export const newInstallationSchema = z.object({
  name: displayName(200),
  kind,
  host: hostName.optional(),
  ip: ipAddress.optional(),
  url: webUrl.optional(),
  provider: displayName(100).optional(),
  tz: timeZone.optional(),
  uploadName: uploadName.optional(),
});

export type NewInstallationInput = z.input<typeof newInstallationSchema> & { client: string };

/** The installation and its agent token: the only moment the token exists in clear. */
export interface IssuedInstallation {
  installation: Installation;
  token: string;
}

export async function addInstallation(ctx: RegistryContext, input: NewInstallationInput): Promise<IssuedInstallation> {
  const { client: clientRef, ...rest } = input;
  const fields = validate(newInstallationSchema, rest, 'installation');
  return writeTransaction(ctx.db, async (tx) => createInstallation(tx, ctx, await resolveClient(tx, clientRef), fields));
}

/** Insert a validated installation inside the caller's transaction. */
export async function createInstallation(
  tx: Queryable,
  ctx: RegistryContext,
  client: Client,
  fields: z.output<typeof newInstallationSchema>,
): Promise<IssuedInstallation> {
  return (await createInstallations(tx, ctx, [{ client, fields }]))[0]!;
}

/**
 * Insert many validated installations inside the caller's transaction (the
 * CSV import), at a cost that grows with their number, not its square: names
 * are checked against one read of the clients' names, rows go in a few
 * hundred per statement. A name taken (or given twice) refuses them all.
 */
export async function createInstallations(
  tx: Queryable,
  ctx: RegistryContext,
  wanted: readonly { client: Client; fields: z.output<typeof newInstallationSchema> }[],
): Promise<IssuedInstallation[]> {
  const taken = new Set((await listInstallationNames(tx, [...new Set(wanted.map((w) => w.client.id))])).map((n) => nameKey(n.clientId, n.name)));
  const uploadNames = new Set<string>();
  for (const { client, fields } of wanted) {
    const key = nameKey(client.id, fields.name);
    if (taken.has(key)) throw inputError('installationNameTaken', { client: client.name, name: fields.name });
    taken.add(key);
    if (fields.uploadName) {
      const holder = await findInstallationByUploadName(tx, fields.uploadName);
      if (holder || uploadNames.has(fields.uploadName.toLowerCase())) {
        throw inputError('uploadNameTaken', { name: fields.uploadName, id: holder?.id ?? 0, installation: holder?.name ?? fields.name });
      }
      uploadNames.add(fields.uploadName.toLowerCase());
    }
  }
  const now = ctx.clock();
  const tokens = wanted.map(() => newAgentToken());
  const inserted = await insertInstallations(
    tx,
    wanted.map(({ client, fields }, i) => ({
      clientId: client.id,
      name: fields.name,
      kind: fields.kind,
      host: fields.host ?? null,
      ip: fields.ip ?? null,
      url: fields.url ?? null,
      provider: fields.provider ?? null,
      ...(fields.tz ? { tz: fields.tz } : {}),
      uploadName: fields.uploadName ?? null,
      tokenHash: tokens[i]!.hash,
      tokenIssuedAt: now,
      createdAt: now,
    })),
  );
  // The sweep looks at them at once and from then on knows when the first report is overdue.
  await recheckNow(tx, inserted.map((installation) => installation.id), now);
  await bumpRegistryVersion(tx, now);
  await recordAudits(
    tx,
    inserted.map((installation, i) => ({
      at: now,
      actor: ctx.actor,
      action: 'installation.add',
      subjectType: 'installation',
      subjectId: installation.id,
      details: { clientId: installation.clientId, ...wanted[i]!.fields },
    })),
  );
  return inserted.map((installation, i) => ({ installation, token: tokens[i]!.token }));
}

function nameKey(clientId: number, name: string): string {
  return `${clientId}\u0000${name}`;
}

export async function requireInstallation(db: Queryable, ref: string | number): Promise<Installation> {
  const id = typeof ref === 'number' ? ref : /^\d+$/.test(ref.trim()) ? Number(ref.trim()) : NaN;
  const installation = Number.isSafeInteger(id) ? await getInstallation(db, id) : undefined;
  if (!installation) throw notFound('installationNotFound', { ref: String(ref) });
  return installation;
}

/** Issue a new agent token; the old one stops working at once. */
export async function rotateToken(ctx: RegistryContext, ref: string | number): Promise<IssuedInstallation> {
  return writeTransaction(ctx.db, async (tx) => {
    const existing = await requireInstallation(tx, ref);
    const { token, hash } = newAgentToken();
    const now = ctx.clock();
    const installation = await updateInstallation(tx, existing.id, { tokenHash: hash, tokenIssuedAt: now });
    await recordAudit(tx, {
      at: now,
      actor: ctx.actor,
      action: 'installation.token-rotate',
      subjectType: 'installation',
      subjectId: existing.id,
    });
    return { installation, token };
  });
}

/**
 * Turn monitoring off (or back on). Reports are still accepted while it is off,
 * but no rule is judged; turning it off resolves the open incidents.
 */
export async function setMonitoring(ctx: RegistryContext, ref: string | number, enabled: boolean): Promise<Installation> {
  return writeTransaction(ctx.db, async (tx) => {
    const existing = await requireInstallation(tx, ref);
    if (existing.monitoringEnabled === enabled) return existing;
    const now = ctx.clock();
    const installation = await updateInstallation(tx, existing.id, { monitoringEnabled: enabled });
    if (enabled) {
      await recheckNow(tx, existing.id, now);
    } else {
      await unschedule(tx, existing.id);
      for (const incident of await listActiveIncidents(tx, existing.id)) {
        await resolveIncident(tx, incident.id, ctx.actor, 'disabled', now);
      }
    }
    await recordAudit(tx, {
      at: now,
      actor: ctx.actor,
      action: enabled ? 'installation.enable' : 'installation.disable',
      subjectType: 'installation',
      subjectId: existing.id,
    });
    return installation;
  });
}

/**
 * Per-installation rule thresholds, from `RULE=VALUE` pairs: a duration such as
 * 72h or 5d for time rules, a version for KodeksShellVersionOutdated, or
 * `default` to drop the override. The installation is re-checked at the next sweep.
 */
export async function setThresholds(ctx: RegistryContext, ref: string | number, assignments: string[]): Promise<Installation> {
  const changes = assignments.map(parseThresholdAssignment);
  return writeTransaction(ctx.db, async (tx) => {
    const existing = await requireInstallation(tx, ref);
    const thresholds = { ...existing.thresholds };
    for (const { ruleId, value } of changes) {
      if (value === undefined) delete thresholds[ruleId];
      else thresholds[ruleId] = value;
    }
    const now = ctx.clock();
    const installation = await updateInstallation(tx, existing.id, { thresholds });
    await recheckNow(tx, existing.id, now);
    await recordAudit(tx, {
      at: now,
      actor: ctx.actor,
      action: 'installation.thresholds',
      subjectType: 'installation',
      subjectId: existing.id,
      details: { before: existing.thresholds, after: thresholds },
    });
    return installation;
  });
}

function parseThresholdAssignment(assignment: string): { ruleId: RuleId; value: ThresholdValue | undefined } {
  const match = /^\s*([A-Za-z]+)\s*=\s*(\S+)\s*$/.exec(assignment);
  if (!match) throw inputError('thresholdSyntax', { text: assignment });
  const [, ruleId, raw] = match as unknown as [string, string, string];
  if (!isRuleId(ruleId)) throw inputError('ruleUnknown', { rule: ruleId });
  const rule = getRule(ruleId);
  if (raw.toLowerCase() === 'default') return { ruleId, value: undefined };
  switch (rule.thresholdKind) {
    case 'duration':
      return { ruleId, value: parseDuration(raw) };
    case 'version':
      if (!isVersion(raw)) throw inputError('thresholdVersion', { rule: ruleId, value: raw });
      return { ruleId, value: raw };
    case 'none':
      throw inputError('thresholdNone', { rule: ruleId });
  }
}

/**
 * The licence manager an installation's key checks go to (`host[:port]`, 8888
 * by default; "-" clears it): probed by ping and TCP from then on
 * (`LicmanIcmp`, `LicmanTcpStatus`).
 */
export async function setLicman(ctx: RegistryContext, ref: string | number, spec: string): Promise<Installation> {
  const text = spec.trim();
  let address: { host: string; port: number } | null = null;
  if (text !== '-') {
    const match = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text) ?? /^([^:\s]+)(?::(\d{1,5}))?$/.exec(text) ?? (isIP(text) === 6 ? [text, text] : null);
    const host = match?.[1]?.toLowerCase();
    const port = match?.[2] === undefined ? LICMAN_PORT : Number(match[2]);
    const valid = host !== undefined && (isIP(host) !== 0 || hostName.safeParse(host).success) && port >= 1 && port <= 65_535;
    if (!valid) throw inputError('licmanInvalid', { text: spec });
    address = { host, port };
  }
  return writeTransaction(ctx.db, async (tx) => {
    const existing = await requireInstallation(tx, ref);
    const changed = await updateInstallation(tx, existing.id, { licmanHost: address?.host ?? null, licmanPort: address?.port ?? null });
    await recordAudit(tx, { at: ctx.clock(), actor: ctx.actor, action: 'installation.licman', subjectType: 'installation', subjectId: existing.id, details: { licman: address } });
    return changed;
  });
}
