import { z } from 'zod';
import { newAgentToken } from '../core/agent-token.ts';
import { InputError, NotFoundError } from '../core/errors.ts';
import { recordAudit } from '../db/audit.ts';
import type { Client } from '../db/clients.ts';
import {
  getInstallation,
  insertInstallation,
  listInstallationsOfClient,
  updateInstallation,
  type Installation,
} from '../db/installations.ts';
import type { Queryable } from '../db/open.ts';
import type { RegistryContext } from './context.ts';
import { displayName, hostName, ipAddress, kind, timeZone, validate, webUrl } from './fields.ts';
import { resolveClient } from './clients.ts';

export const newInstallationSchema = z.object({
  name: displayName(200),
  kind,
  host: hostName.optional(),
  ip: ipAddress.optional(),
  url: webUrl.optional(),
  provider: displayName(100).optional(),
  tz: timeZone.optional(),
});

export type NewInstallationInput = z.input<typeof newInstallationSchema> & { client: string };

/** The installation and its agent token: the only moment the token exists in clear. */
export interface IssuedInstallation {
  installation: Installation;
  token: string;
}

export function addInstallation(ctx: RegistryContext, input: NewInstallationInput): IssuedInstallation {
  const { client: clientRef, ...rest } = input;
  const fields = validate(newInstallationSchema, rest, 'installation');
  return ctx.db.transaction((tx) => createInstallation(tx, ctx, resolveClient(tx, clientRef), fields), {
    behavior: 'immediate',
  });
}

/** Insert a validated installation inside the caller's transaction (shared with the CSV import). */
export function createInstallation(
  tx: Queryable,
  ctx: RegistryContext,
  client: Client,
  fields: z.output<typeof newInstallationSchema>,
): IssuedInstallation {
  if (listInstallationsOfClient(tx, client.id).some((i) => i.name === fields.name)) {
    throw new InputError(`client "${client.name}" already has an installation named "${fields.name}"`);
  }
  const { token, hash } = newAgentToken();
  const now = ctx.clock();
  const installation = insertInstallation(tx, {
    clientId: client.id,
    name: fields.name,
    kind: fields.kind,
    host: fields.host ?? null,
    ip: fields.ip ?? null,
    url: fields.url ?? null,
    provider: fields.provider ?? null,
    ...(fields.tz ? { tz: fields.tz } : {}),
    tokenHash: hash,
    tokenIssuedAt: now,
    createdAt: now,
  });
  recordAudit(tx, {
    at: now,
    actor: ctx.actor,
    action: 'installation.add',
    subjectType: 'installation',
    subjectId: installation.id,
    details: { clientId: client.id, ...fields },
  });
  return { installation, token };
}

export function requireInstallation(db: Queryable, ref: string | number): Installation {
  const id = typeof ref === 'number' ? ref : /^\d+$/.test(ref.trim()) ? Number(ref.trim()) : NaN;
  const installation = Number.isSafeInteger(id) ? getInstallation(db, id) : undefined;
  if (!installation) throw new NotFoundError(`no installation with id "${ref}"`);
  return installation;
}

/** Issue a new agent token; the old one stops working at once. */
export function rotateToken(ctx: RegistryContext, ref: string | number): IssuedInstallation {
  return ctx.db.transaction(
    (tx) => {
      const existing = requireInstallation(tx, ref);
      const { token, hash } = newAgentToken();
      const now = ctx.clock();
      const installation = updateInstallation(tx, existing.id, { tokenHash: hash, tokenIssuedAt: now });
      recordAudit(tx, {
        at: now,
        actor: ctx.actor,
        action: 'installation.token-rotate',
        subjectType: 'installation',
        subjectId: existing.id,
      });
      return { installation, token };
    },
    { behavior: 'immediate' },
  );
}

/** Turn monitoring off (or back on). Reports are still accepted; no checks run while it is off. */
export function setMonitoring(ctx: RegistryContext, ref: string | number, enabled: boolean): Installation {
  return ctx.db.transaction(
    (tx) => {
      const existing = requireInstallation(tx, ref);
      if (existing.monitoringEnabled === enabled) return existing;
      const installation = updateInstallation(tx, existing.id, { monitoringEnabled: enabled });
      recordAudit(tx, {
        at: ctx.clock(),
        actor: ctx.actor,
        action: enabled ? 'installation.enable' : 'installation.disable',
        subjectType: 'installation',
        subjectId: existing.id,
      });
      return installation;
    },
    { behavior: 'immediate' },
  );
}
