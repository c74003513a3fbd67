import yauzl from 'yauzl';

/** What an uploaded archive may hold: a sysinfo archive is one XML document and a few files, tens of MB unpacked. */
export const ARCHIVE_LIMITS = {
  entries: 10_000,
  uncompressedBytes: 2 * 1024 ** 3,
  /** Unpacked size over packed, for an entry over a megabyte: XML packs about 10–50 times; a bomb, a thousand and more. */
  ratio: 300,
};

/** The archive is refused: said to the sender as a 400. */
export class ArchiveRefused extends Error {
  override readonly name = 'ArchiveRefused';
}

/**
 * Read an archive's directory (never its contents, never onto the disk by
 * entry name) and refuse what no sysinfo archive looks like: too many
 * entries, too much unpacked, a zip bomb's ratio, unsafe entry names (an
 * absolute path or `..`, which yauzl catches), or no ZIP at all. Only the
 * directory is read, so even a bomb is refused in milliseconds.
 */
export async function checkArchive(path: string, limits = ARCHIVE_LIMITS): Promise<{ entries: number; uncompressedBytes: number }> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, { autoClose: false, validateEntrySizes: true });
  } catch (err) {
    throw new ArchiveRefused(`not a readable ZIP archive (${(err as Error).message})`);
  }
  try {
    if (zip.entryCount > limits.entries) throw new ArchiveRefused(`the archive holds ${zip.entryCount} entries; dozor takes ${limits.entries} at most`);
    let entries = 0;
    let uncompressedBytes = 0;
    for await (const entry of zip.eachEntry()) {
      entries++;
      uncompressedBytes += entry.uncompressedSize;
      if (uncompressedBytes > limits.uncompressedBytes) {
        throw new ArchiveRefused(`the archive unpacks to more than ${Math.round(limits.uncompressedBytes / 1024 ** 2)} MiB; dozor takes no more`);
      }
      if (entry.uncompressedSize > 1024 ** 2 && entry.uncompressedSize > limits.ratio * Math.max(1, entry.compressedSize)) {
        throw new ArchiveRefused(`${entry.fileName} unpacks ${Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize))} times its packed size: refused as a zip bomb`);
      }
    }
    return { entries, uncompressedBytes };
  } catch (err) {
    if (err instanceof ArchiveRefused) throw err;
    // yauzl's own refusals: an unsafe entry name, a damaged directory.
    throw new ArchiveRefused(`the archive is refused: ${(err as Error).message}`);
  } finally {
    zip.close();
  }
}
