import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ownFolder, ownerOnly, type ModeChanges } from './open.ts';

/**
 * Uploaded files on disk, under `<DATA_DIR>/uploads/`. A file is written to a
 * temporary name as it streams in (never whole in memory), flushed, and only
 * then moved to its place; the database row that makes it count is written
 * after that. A crash leaves at most a temporary file or one no row names,
 * and `sweepStrayFiles` removes those. Names on disk are ours, never the
 * sender's.
 */
export const UPLOADS_FOLDER = 'uploads';
/** Uploads are the clients' data: readable by the service's own user only. */
const FOLDER_MODE = 0o700;
const FILE_MODE = 0o600;
const TEMPORARY_FOLDER = join(UPLOADS_FOLDER, 'incoming');

export interface ReceivedFile {
  /** Where it waits, relative to the data folder. */
  temporary: string;
  size: number;
  sha256: string;
}

/** Stream a file in; `null` when the stream was cut at the size limit (nothing is kept then). */
export async function receiveFile(dataDir: string, stream: Readable & { truncated?: boolean }): Promise<ReceivedFile | null> {
  await mkdir(join(dataDir, TEMPORARY_FOLDER), { recursive: true, mode: FOLDER_MODE });
  const temporary = join(TEMPORARY_FOLDER, randomUUID());
  const absolute = join(dataDir, temporary);
  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(stream, measure, createWriteStream(absolute, { flags: 'wx', mode: FILE_MODE }));
    if (stream.truncated) {
      await rm(absolute, { force: true });
      return null;
    }
    // On disk before anything says it is there.
    const handle = await open(absolute, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await rm(absolute, { force: true });
    throw err;
  }
  return { temporary, size, sha256: hash.digest('hex') };
}

/** Where a file of an installation (or of none yet) is kept: a name of our own, grouped by owner and kind. */
export function placeFor(owner: number | null, kind: string, receivedAt: Date): string {
  const stamp = receivedAt.toISOString().replace(/[-:]/g, '').replace('.', '');
  return join(UPLOADS_FOLDER, owner === null ? 'unmatched' : String(owner), kind, `${stamp}-${randomUUID().slice(0, 8)}.${kind}`);
}

export async function keepFile(dataDir: string, temporary: string, place: string): Promise<void> {
  await mkdir(dirname(join(dataDir, place)), { recursive: true, mode: FOLDER_MODE });
  await rename(join(dataDir, temporary), join(dataDir, place));
}

export async function discardFile(dataDir: string, path: string): Promise<void> {
  await rm(join(dataDir, path), { force: true });
}

/**
 * Remove what a crash left: temporary files, and kept files no row names,
 * older than `graceMs` (younger ones may be on their way into the database).
 */
export async function sweepStrayFiles(dataDir: string, known: ReadonlySet<string>, now: number, graceMs: number): Promise<number> {
  let removed = 0;
  await walkTree(join(dataDir, UPLOADS_FOLDER), {
    file: async (absolute) => {
      const path = relative(dataDir, absolute).split(sep).join('/');
      if (known.has(path) || known.has(relative(dataDir, absolute))) return;
      const { mtimeMs } = await stat(absolute);
      if (now - mtimeMs < graceMs) return;
      await rm(absolute, { force: true });
      removed++;
    },
  });
  return removed;
}

/** Visit every folder (before what it holds) and file under `root`; a folder that cannot be read is passed over. */
async function walkTree(root: string, visit: { folder?: (absolute: string) => void; file: (absolute: string) => Promise<void> | void }): Promise<void> {
  const walk = async (folder: string): Promise<void> => {
    visit.folder?.(folder);
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const absolute = join(folder, entry.name);
      if (entry.isDirectory()) await walk(absolute);
      else if (entry.isFile()) await visit.file(absolute);
    }
  };
  await walk(root);
}

/**
 * Make the data folder and every folder and file under `uploads/` owner-only
 * (0700 and 0600), as they are created now; those of an older version, or
 * copied in by hand, are tightened. Run once at start.
 */
export async function restrictUploadFiles(dataDir: string): Promise<ModeChanges> {
  const changes: ModeChanges = { tightened: [], failed: [], openFolders: [] };
  ownFolder(dataDir, changes);
  const tighten = (path: string) => ownerOnly(path, changes);
  await walkTree(join(dataDir, UPLOADS_FOLDER), { folder: tighten, file: tighten });
  return changes;
}
