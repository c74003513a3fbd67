import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { deleteValue, readValue, writeValue } from '../db/key-value.ts';
import type { DB } from '../db/open.ts';
import { enqueue, NOTICE } from '../db/outbox.ts';
import { writeTransaction } from '../db/transaction.ts';
import { uploadedBytesSince } from '../db/uploads.ts';
import { listActiveAdmins } from '../db/users.ts';
import { langOf, texts } from '../i18n/index.ts';

/** How much uploads may take of the disk (docs/uploads.md). */
export interface UploadLimits {
  /** Uploads stop while the disk holding the files has less free than this (UPLOAD_MIN_FREE): the rest is the reports'. */
  minFreeBytes: number;
  /** What one installation's files may come to in 24 hours (UPLOAD_DAILY_QUOTA). */
  dailyQuotaBytes: number;
  /** What may come under one fleet token in 24 hours, whatever the names (UPLOAD_FLEET_DAILY_QUOTA). */
  fleetDailyQuotaBytes: number;
}

/**
 * Limits for an upload route built without any (a test's server): the quotas
 * of the configuration's defaults, and no free-space reserve, since the disk a
 * test runs on may have less free than a real server keeps. The service always
 * passes its configuration (UPLOAD_MIN_FREE and the rest, app/config.ts).
 */
export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  minFreeBytes: 0,
  dailyQuotaBytes: 1024 ** 3,
  fleetDailyQuotaBytes: 20 * 1024 ** 3,
};

const DAY_MS = 86_400_000;

/** A size in words for a message: whole units where it is one, else cut (not rounded) to a tenth, so a size just under a limit never reads as the limit. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size) return `${Number.isInteger(bytes / size) ? bytes / size : (Math.floor((bytes / size) * 10) / 10).toFixed(1)} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** Free bytes (for an unprivileged user) on the disk that holds `dir`, or the nearest folder above it that exists. */
export async function freeBytesAt(dir: string): Promise<number> {
  for (let folder = dir; ; folder = dirname(folder)) {
    try {
      const stats = await statfs(folder);
      return stats.bavail * stats.bsize;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(folder) === folder) throw err;
    }
  }
}

/**
 * Why this file would take an installation or a fleet token past its daily
 * quota (the uploads of the last 24 hours, with this one); null when it
 * would not. With `size` null, whether the quota is used up already.
 */
export async function quotaRefusal(
  db: DB,
  limits: UploadLimits,
  who: { installationId: number | null; uploadTokenId: number | null },
  size: number | null,
  now: Date,
): Promise<string | null> {
  const since = new Date(now.getTime() - DAY_MS);
  const over = (used: number, quota: number) => (size === null ? used >= quota : used + size > quota);
  if (who.installationId !== null) {
    const used = await uploadedBytesSince(db, { installationId: who.installationId }, since);
    if (over(used, limits.dailyQuotaBytes)) {
      return `the installation's uploads of the last 24 hours come to ${formatBytes(used + (size ?? 0))}, past its daily quota of ${formatBytes(limits.dailyQuotaBytes)} (UPLOAD_DAILY_QUOTA); nothing was kept, retry later`;
    }
  }
  if (who.uploadTokenId !== null) {
    const used = await uploadedBytesSince(db, { uploadTokenId: who.uploadTokenId }, since);
    if (over(used, limits.fleetDailyQuotaBytes)) {
      return `the uploads under this fleet token in the last 24 hours come to ${formatBytes(used + (size ?? 0))}, past its daily quota of ${formatBytes(limits.fleetDailyQuotaBytes)} (UPLOAD_FLEET_DAILY_QUOTA); nothing was kept, retry later`;
    }
  }
  return null;
}

/** Set while uploads are refused for want of space: the admins were told, and are not told again until uploads went through meanwhile. */
const REFUSING_FOR_SPACE = 'uploads.refusing-for-space';

export function spaceRefusal(free: number, limits: UploadLimits): string {
  return `the disk has ${formatBytes(free)} free, less than the ${formatBytes(limits.minFreeBytes)} dozor keeps for agents' reports (UPLOAD_MIN_FREE); nothing was kept, retry later`;
}

/** Uploads are refused for space: each admin is told when that starts, not at every upload. */
export async function noteRefusedForSpace(db: DB, free: number, limits: UploadLimits, now: Date): Promise<void> {
  await writeTransaction(db, async () => {
    if ((await readValue<unknown>(db, REFUSING_FOR_SPACE)) !== undefined) return;
    await writeValue(db, REFUSING_FOR_SPACE, { since: now.toISOString(), free }, now);
    for (const admin of await listActiveAdmins(db)) {
      const t = texts(langOf(admin.language));
      const text = t.notices.uploadsRefusedForSpace(t.web.fileSize(free), t.web.fileSize(limits.minFreeBytes));
      await enqueue(db, { kind: NOTICE, chatId: admin.telegramId, incidentId: null, payload: { text } }, now);
    }
  });
}

/** An upload went through: a later refusal for space is news again. */
export async function noteAcceptedForSpace(db: DB): Promise<void> {
  if ((await readValue<unknown>(db, REFUSING_FOR_SPACE)) !== undefined) await writeTransaction(db, async () => deleteValue(db, REFUSING_FOR_SPACE));
}

export const QUOTA_RETRY_SECONDS = 3600;
export const SPACE_RETRY_SECONDS = 600;
