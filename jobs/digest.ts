import { CronExpressionParser } from 'cron-parser';
import { DateTime } from 'luxon';
import { claimDigest, isDigestClaimed } from '../db/digest-deliveries.ts';
import type { DB } from '../db/open.ts';
import { enqueue } from '../db/outbox.ts';
import { listDigestRecipients, type User } from '../db/users.ts';
import { recordCampaignSnapshot, type Digest } from '../digest/assemble.ts';
import { writeTransaction } from '../db/transaction.ts';

/** A person's digest as the delivery channel will show it: the figures, and the outbox messages that carry it. */
export interface ComposedDigest {
  digest: Digest;
  messages: { kind: string; payload: Record<string, unknown> }[];
}

/** Builds a person's digest for their channel (Telegram: a message and a chart); given by whoever wires the service. */
export type DigestComposer = (user: User, options: { personal: boolean; day: string }, now: Date) => Promise<ComposedDigest>;

export interface DigestJobDeps {
  db: DB;
  cron: string;
  /** The digest schedule's time zone. */
  tz: string;
  /** A digest more than this late (the service was down) is not sent. */
  maxDelayMs: number;
  compose: DigestComposer;
}

/** The latest scheduled digest time at or before `now`, and its day, if it is not too late to send it. */
export function dueDigest(cron: string, tz: string, maxDelayMs: number, now: Date): { day: string; scheduledAt: Date } | null {
  const scheduledAt = CronExpressionParser.parse(cron, { currentDate: new Date(now.getTime() + 1), tz }).prev().toDate();
  if (now.getTime() - scheduledAt.getTime() > maxDelayMs) return null;
  return { day: DateTime.fromJSDate(scheduledAt).setZone(tz).toISODate()!, scheduledAt };
}

export interface DigestRunResult {
  day: string | null;
  queued: { recipientId: number; kind: 'team' | 'personal' }[];
}

/**
 * Queue today's digests: every active team lead and admin gets the team digest,
 * managers who asked for it their personal one. Runs at DIGEST_CRON and at
 * start-up (catching up when the service was down at digest time, up to
 * `maxDelayMs` late). A digest is claimed in the database with its outbox
 * messages, so no day's digest is ever queued twice.
 */
export async function runDigests(deps: DigestJobDeps, now: Date): Promise<DigestRunResult> {
  const due = dueDigest(deps.cron, deps.tz, deps.maxDelayMs, now);
  if (!due) return { day: null, queued: [] };
  const queued: DigestRunResult['queued'] = [];
  for (const user of await listDigestRecipients(deps.db)) {
    const kinds: ('team' | 'personal')[] = [];
    if (user.role !== 'manager') kinds.push('team');
    if (user.personalDigest && user.role !== 'admin') kinds.push('personal');
    for (const kind of kinds) {
      if (await queueDigest(deps, user, kind, due.day, now)) queued.push({ recipientId: user.telegramId, kind });
    }
  }
  return { day: due.day, queued };
}

async function queueDigest(deps: DigestJobDeps, user: User, kind: 'team' | 'personal', day: string, now: Date): Promise<boolean> {
  const { db } = deps;
  // Cheap check first, so a restart does not redraw charts already sent; the claim below is the real guard.
  if (await isDigestClaimed(db, user.telegramId, day, kind)) return false;
  const composed = await deps.compose(user, { personal: kind === 'personal', day }, now);
  return writeTransaction(db, async (tx) => {
    if (!(await claimDigest(tx, user.telegramId, day, kind, now))) return false;
    await recordCampaignSnapshot(tx, composed.digest);
    for (const message of composed.messages) await enqueue(tx, { ...message, chatId: user.telegramId, incidentId: null }, now);
    return true;
  });
}
