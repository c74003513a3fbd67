import yauzl from 'yauzl';
import { defuse } from '../core/text.ts';

/**
 * What an uploaded archive may hold (docs/uploads.md). A
 * sysinfo archive is one XML document and a few files, about 20 MB packed on a
 * large server; XML packs 10–50 times, so even one that is all XML unpacks to
 * about a gigabyte: the limits leave twice that.
 */
export const ARCHIVE_LIMITS = {
  entries: 1_000,
  uncompressedBytes: 2 * 1024 ** 3,
  /** Unpacked size over packed, for an entry over a megabyte and for the whole archive past `ratioFloorBytes`: a bomb packs a thousand times and more. */
  ratio: 300,
  /** Below this much unpacked in all, the archive's ratio does not matter. */
  ratioFloorBytes: 16 * 1024 ** 2,
};

/** The archive is refused: said to the sender as a 400. */
export class ArchiveRefused extends Error {
  override readonly name = 'ArchiveRefused';
}

const MiB = (bytes: number) => `${Math.round(bytes / 1024 ** 2)} MiB`;
/** An entry's name as the sender wrote it, made safe to show (it is the sender's). */
const entryName = (name: string) => defuse(name.length > 100 ? `${name.slice(0, 100)}…` : name);

/**
 * Read an archive's directory (never its contents, never onto the disk by
 * entry name) and refuse what no sysinfo archive looks like: too many
 * entries, too much unpacked, a zip bomb's ratio (of one entry, or of the
 * whole archive: a thousand entries of a megabyte each are a bomb too),
 * unsafe entry names (an absolute path or `..`, which yauzl catches), or no
 * ZIP at all. Only the directory is read, so even a bomb is refused in
 * milliseconds, before anything of it is unpacked.
 */
export async function checkArchive(path: string, limits = ARCHIVE_LIMITS): Promise<{ entries: number; uncompressedBytes: number }> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, { autoClose: false, validateEntrySizes: true });
  } catch (err) {
    throw new ArchiveRefused(`not a readable ZIP archive (${(err as Error).message})`);
  }
  try {
    if (zip.entryCount > limits.entries) throw new ArchiveRefused(`the archive holds ${zip.entryCount} entries; a sysinfo archive may hold ${limits.entries} at most`);
    let entries = 0;
    let uncompressedBytes = 0;
    let compressedBytes = 0;
    for await (const entry of zip.eachEntry()) {
      entries++;
      uncompressedBytes += entry.uncompressedSize;
      compressedBytes += entry.compressedSize;
      if (uncompressedBytes > limits.uncompressedBytes) {
        throw new ArchiveRefused(`the archive unpacks to more than ${MiB(limits.uncompressedBytes)}, the most dozor unpacks`);
      }
      if (entry.uncompressedSize > 1024 ** 2 && entry.uncompressedSize > limits.ratio * Math.max(1, entry.compressedSize)) {
        const ratio = Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize));
        throw new ArchiveRefused(`${entryName(entry.fileName)} unpacks ${ratio} times its packed size, more than the ${limits.ratio} times dozor takes: refused as a zip bomb`);
      }
    }
    if (uncompressedBytes > limits.ratioFloorBytes && uncompressedBytes > limits.ratio * Math.max(1, compressedBytes)) {
      const ratio = Math.round(uncompressedBytes / Math.max(1, compressedBytes));
      throw new ArchiveRefused(`the archive unpacks to ${MiB(uncompressedBytes)}, ${ratio} times its packed size, more than the ${limits.ratio} times dozor takes: refused as a zip bomb`);
    }
    return { entries, uncompressedBytes };
  } catch (err) {
    if (err instanceof ArchiveRefused) throw err;
    // yauzl's own refusals: an unsafe entry name, a damaged directory.
    throw new ArchiveRefused(`the archive is refused: ${defuse((err as Error).message)}`);
  } finally {
    zip.close();
  }
}
