import type { Logger } from 'pino';
import type { DB } from '../db/open.ts';
import { discardFile, sweepStrayFiles } from '../db/upload-files.ts';
import { deleteUploads, listPrunableUploads, listUploadPaths } from '../db/uploads.ts';
import { writeTransaction } from '../db/transaction.ts';

export interface PruneUploadsDeps {
  db: DB;
  dataDir: string;
  logger: Logger;
  /** The newest files of each installation and kind kept whatever their age. */
  keep: number;
  /** Beyond those, one file a day is kept this long. */
  retentionMs: number;
  /** The offset of the day boundary from UTC, in ms (the display time zone's). */
  dayOffsetMs: number;
  /** Files no installation has are removed this long after they came (UPLOAD_UNMATCHED_DAYS), however few. */
  unmatchedMs: number;
}

/** A file a crash left may be this young and still on its way into the database. */
const STRAY_GRACE_MS = 60 * 60_000;

/**
 * The nightly pruning of uploads: rows first (one transaction), then their
 * files; then whatever a crash left on disk without a row.
 */
export async function pruneUploads(deps: PruneUploadsDeps, now: Date): Promise<{ removed: number; stray: number }> {
  const { db } = deps;
  const gone = await writeTransaction(db, async () => {
    const prunable = await listPrunableUploads(db, {
      keep: deps.keep,
      before: new Date(now.getTime() - deps.retentionMs),
      dayOffsetMs: deps.dayOffsetMs,
      unmatchedBefore: new Date(now.getTime() - deps.unmatchedMs),
    });
    await deleteUploads(db, prunable.map((upload) => upload.id));
    return prunable;
  });
  for (const upload of gone) await discardFile(deps.dataDir, upload.path);
  // Files age in real time, whatever clock the rest is judged by.
  const stray = await sweepStrayFiles(deps.dataDir, await listUploadPaths(db), Date.now(), STRAY_GRACE_MS);
  if (gone.length + stray > 0) deps.logger.info({ removed: gone.length, stray }, 'old uploads pruned');
  return { removed: gone.length, stray };
}
