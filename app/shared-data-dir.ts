import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { claimValue } from '../db/key-value.ts';
import type { DB } from '../db/open.ts';

/** The file in DATA_DIR that names it, and the key under which the database remembers that name. */
export const DATA_DIR_MARKER = '.dozor-data-dir';
const MARKER_KEY = 'data-dir:marker';

export class DataDirMismatch extends Error {}

/**
 * Several instances on one database must store uploads in one directory they
 * all mount: a file received by one is served, reparsed and pruned by any.
 * The first instance writes a marker with a random name into DATA_DIR and the
 * name into the database; every later start checks that its DATA_DIR holds
 * the same marker, and refuses to start on a directory of its own machine
 * that the others cannot see.
 */
export async function checkSharedDataDir(db: DB, dataDir: string, clock: Clock): Promise<void> {
  const path = join(dataDir, DATA_DIR_MARKER);
  let mine = await readMarker(path);
  if (mine === undefined) {
    mine = randomUUID();
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // 'wx': of two instances starting on one new directory, one writes the marker and the other reads it.
    try {
      await writeFile(path, `${mine}\n`, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      mine = await readMarker(path);
      if (mine === undefined) throw new DataDirMismatch(`DATA_DIR ${dataDir}: ${DATA_DIR_MARKER} is empty; remove it and start again`);
    }
  }
  const expected = await claimValue(db, MARKER_KEY, mine, clock());
  if (expected !== mine) {
    throw new DataDirMismatch(
      `DATA_DIR ${dataDir} is not the directory the other instances on this database use: its marker ${DATA_DIR_MARKER} ` +
        `names ${mine}, the database expects ${expected}. ` +
        'Several instances need one directory they all mount (NFS or the like), so that any of them can serve every upload; ' +
        `point DATA_DIR at it. If you moved the files, move ${DATA_DIR_MARKER} with them.`,
    );
  }
}

async function readMarker(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
