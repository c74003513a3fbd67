import { z } from 'zod';
import { loadAgentTemplate, type AgentOs, type RenderedAgent } from '../agent/render.ts';
import { hashAgentToken, hashesEqual, newAgentToken } from '../core/agent-token.ts';
import type { StoredAgentOptions } from '../core/agent-options.ts';
import { recordAudit } from '../db/audit.ts';
import { getClient } from '../db/clients.ts';
import { updateInstallation, type Installation } from '../db/installations.ts';
import { writeTransaction } from '../db/transaction.ts';
import { inputError } from '../i18n/index.ts';
import type { RegistryContext } from './context.ts';
import { hostPort, scriptSetting, validate, webUrl } from './fields.ts';
import { requireInstallation } from './installations.ts';
import { metricsAccountOf } from './metrics-account.ts';

export const AGENT_OS = ['linux', 'windows'] as const satisfies readonly AgentOs[];
/** What a person may ask for: one system's script, or both written with one token. */
export const AGENT_CHOICES = [...AGENT_OS, 'both'] as const;
export type AgentChoice = (typeof AGENT_CHOICES)[number];

/** Where the local Kodeks server answers, when the person does not say. */
export const DEFAULT_KODEKS_URL = 'http://127.0.0.1:80';

const agentOptionsSchema = z
  .object({
    kodeksUrl: webUrl.default(DEFAULT_KODEKS_URL),
    metricsUser: scriptSetting(200).optional(),
    metricsPassword: scriptSetting(200).optional(),
    proxy: hostPort.optional(),
    operapDir: scriptSetting(500).optional(),
    service: scriptSetting(200).optional(),
    storage: scriptSetting(500).optional(),
  })
  .refine((options) => (options.metricsUser === undefined) === (options.metricsPassword === undefined), {
    // Only one of the pair given: name the one that is missing.
    path: ['metricsPassword'],
    error: 'required',
  });

export type AgentOptions = z.input<typeof agentOptionsSchema>;

export interface AgentRequest {
  os: AgentChoice;
  /** PUBLIC_URL: where the agent reaches dozor. */
  publicUrl: string | undefined;
  /** SECRET_KEY, to read the installation's stored metrics account when none is given. */
  secretKey?: string | undefined;
  /** The installation's current agent token, to keep it; without it a new one is issued. */
  token?: string | undefined;
  options: AgentOptions;
}

export interface IssuedAgent {
  installation: Installation;
  /** The agent token was replaced: an agent already running there stops being accepted. */
  rotated: boolean;
  /** Where the metrics account in the script came from. */
  metricsAccount: 'given' | 'stored' | 'none';
  /** One script per system asked for (Linux first), all with the same token. */
  agents: RenderedAgent[];
}

/**
 * Write the agent script for an installation: this service's address, the
 * installation's token and every local setting filled in. Only a token's hash
 * is kept, so without the installation's current token a new one is issued
 * (the old one stops working at once, whichever system's script holds it;
 * `both` writes the Linux and the Windows script with one). The local
 * settings are kept with the installation, so the script can be written again
 * from the bot; the metrics account, when none is given, is the one stored
 * (sealed) for it.
 */
export async function issueAgent(ctx: RegistryContext, ref: string | number, request: AgentRequest): Promise<IssuedAgent> {
  const publicUrl = request.publicUrl;
  if (!publicUrl) throw inputError('publicUrlMissing', {});
  const { metricsUser: givenUser, metricsPassword: givenPassword, ...local } = validate(agentOptionsSchema, request.options, 'agent');
  const fills = (request.os === 'both' ? AGENT_OS : [request.os]).map(loadAgentTemplate);
  const given = request.token?.trim();
  const { installation, token } = await writeTransaction(ctx.db, async (tx) => {
    const existing = await requireInstallation(tx, ref);
    if (given !== undefined && !hashesEqual(hashAgentToken(given), existing.tokenHash)) throw inputError('agentTokenMismatch', { id: existing.id });
    const issued = given === undefined ? newAgentToken() : null;
    const now = ctx.clock();
    const stored: StoredAgentOptions = local;
    const changed = await updateInstallation(tx, existing.id, issued ? { agentOptions: stored, tokenHash: issued.hash, tokenIssuedAt: now } : { agentOptions: stored });
    await recordAudit(tx, {
      at: now,
      actor: ctx.actor,
      action: 'installation.agent',
      subjectType: 'installation',
      subjectId: existing.id,
      details: { os: request.os, tokenRotated: issued !== null },
    });
    return { installation: changed, token: issued?.token ?? given! };
  });
  const storedAccount = givenUser === undefined && request.secretKey ? metricsAccountOf(installation, request.secretKey) : null;
  const account = givenUser !== undefined ? { user: givenUser, password: givenPassword! } : storedAccount;
  const client = await getClient(ctx.db, installation.clientId);
  const generatedAt = ctx.clock();
  const agents = fills.map((fill) =>
    fill({
      dozorUrl: publicUrl,
      token,
      installation: { id: installation.id, name: installation.name, clientName: client?.name ?? '' },
      fileName: installation.uploadName ?? `installation-${installation.id}`,
      ...local,
      metricsUser: account?.user,
      metricsPassword: account?.password,
      generatedAt,
    }),
  );
  return { installation, rotated: given === undefined, metricsAccount: givenUser !== undefined ? 'given' : storedAccount ? 'stored' : 'none', agents };
}
