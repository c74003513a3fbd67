import { CronExpressionParser } from 'cron-parser';
import { and, eq, or } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { recordCampaignSnapshot } from '../digest/assemble.ts';
import { buildDigest, type DigestSettings } from '../digest/build.ts';
import { claimDigest, isDigestClaimed } from '../db/digest-deliveries.ts';
import type { DB } from '../db/open.ts';
import { enqueue } from '../db/outbox.ts';
import { users } from '../db/schema.ts';
import { DIGEST_CHART, DIGEST_TEXT } from '../delivery/kinds.ts';
import type { User } from '../db/users.ts';

export interface DigestJobDeps {
  db: DB;
  cron: string;
  settings: DigestSettings;
  /** A digest more than this late (the service was down) is not sent. */
  maxDelayMs: number;
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
export function runDigests(deps: DigestJobDeps, now: Date): DigestRunResult {
  const { db, settings } = deps;
  const due = dueDigest(deps.cron, settings.tz, deps.maxDelayMs, now);
  if (!due) return { day: null, queued: [] };
  const recipients = db
    .select()
    .from(users)
    .where(and(eq(users.active, true), or(eq(users.role, 'lead'), eq(users.role, 'admin'), eq(users.personalDigest, true))))
    .all();
  const queued: DigestRunResult['queued'] = [];
  for (const user of recipients) {
    const kinds: ('team' | 'personal')[] = [];
    if (user.role !== 'manager') kinds.push('team');
    if (user.personalDigest && user.role !== 'admin') kinds.push('personal');
    for (const kind of kinds) {
      if (queueDigest(db, user, kind, due.day, now, settings)) queued.push({ recipientId: user.telegramId, kind });
    }
  }
  return { day: due.day, queued };
}

function queueDigest(db: DB, user: User, kind: 'team' | 'personal', day: string, now: Date, settings: DigestSettings): boolean {
  // Cheap check first, so a restart does not redraw charts already sent; the claim below is the real guard.
  if (isDigestClaimed(db, user.telegramId, day, kind)) return false;
  const built = buildDigest(db, user, now, settings, { personal: kind === 'personal', day });
  return db.transaction(
    (tx) => {
      if (!claimDigest(tx, user.telegramId, day, kind, now)) return false;
      recordCampaignSnapshot(tx, built.digest);
      enqueue(tx, { kind: DIGEST_TEXT, chatId: user.telegramId, incidentId: null, payload: { text: built.text } }, now);
      enqueue(
        tx,
        { kind: DIGEST_CHART, chatId: user.telegramId, incidentId: null, payload: { png: built.png.toString('base64'), caption: built.chartCaption } },
        now,
      );
      return true;
    },
    { behavior: 'immediate' },
  );
}
