import { decideAccessRequest, getAccessRequest, saveAccessRequest, type AccessRequest } from '../db/access-requests.ts';
import { recordAudit } from '../db/audit.ts';
import type { User } from '../db/users.ts';
import type { RegistryContext } from './context.ts';
import { createUser } from './users.ts';
import { writeTransaction } from '../db/transaction.ts';

export interface Stranger {
  telegramId: number;
  name: string;
  username: string | null;
  language: string | null;
}

/**
 * Someone unknown asks for access. A request already pending or refused stays
 * as it is; otherwise it is stored (with its audit row) for the admins.
 */
export async function requestAccess(ctx: RegistryContext, stranger: Stranger): Promise<'requested' | 'pending' | 'refused'> {
  return writeTransaction(ctx.db, async (tx) => {
    const previous = await getAccessRequest(tx, stranger.telegramId);
    if (previous?.status === 'refused') return 'refused';
    if (previous?.status === 'pending') return 'pending';
    await saveAccessRequest(tx, { ...stranger, requestedAt: ctx.clock(), status: 'pending', decidedBy: null, decidedAt: null });
    await recordAudit(tx, { at: ctx.clock(), actor: ctx.actor, action: 'access.request', subjectType: 'user', subjectId: stranger.telegramId });
    return 'requested';
  });
}

export type AccessDecision = 'manager' | 'lead' | 'refuse';

export type DecisionOutcome =
  | { outcome: 'already'; request: AccessRequest | undefined }
  | { outcome: 'refused'; request: AccessRequest }
  | { outcome: 'approved'; request: AccessRequest; user: User };

/** An admin decides a pending request: the person becomes staff in the role given, or is refused. */
export async function decideAccess(ctx: RegistryContext, adminId: number, telegramId: number, decision: AccessDecision): Promise<DecisionOutcome> {
  return writeTransaction(ctx.db, async (tx) => {
    const request = await getAccessRequest(tx, telegramId);
    if (!request || request.status !== 'pending') return { outcome: 'already', request };
    const now = ctx.clock();
    if (decision === 'refuse') {
      await decideAccessRequest(tx, telegramId, 'refused', adminId, now);
      await recordAudit(tx, { at: now, actor: ctx.actor, action: 'access.refuse', subjectType: 'user', subjectId: telegramId });
      return { outcome: 'refused', request };
    }
    const user = await createUser(tx, ctx, { telegramId, name: request.name, role: decision });
    await decideAccessRequest(tx, telegramId, 'approved', adminId, now);
    return { outcome: 'approved', request, user };
  });
}
