import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createWriteStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yazl from 'yazl';
import { BENCH_TOKEN } from './seed.ts';

/**
 * A sysinfo archive of about `mb` MB as a large Kodeks server sends one: an
 * XML document (operap files, users) that the mapping reads, and a packed
 * entry of data that does not compress, so the archive has the size wanted.
 * Synthetic: the real schema is not published.
 */
export async function writeBenchArchive(path: string, mb: number): Promise<void> {
  const rows: string[] = [];
  for (let i = 0; i < 60_000; i++) rows.push(`<file name="op${i}.ud6" date="2026-11-${String((i % 28) + 1).padStart(2, '0')}" size="${i * 17}"/>`);
  for (let i = 0; i < 40_000; i++) rows.push(`<user login="user${i}" ip="10.${i % 250}.${(i * 7) % 250}.${i % 200}" last="2026-11-29T10:${String(i % 60).padStart(2, '0')}:00"/>`);
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<sysinfo made="2026-11-30T06:55:00"><product version="6.4.5.127 (x64)"/><update>2251</update><operups>${rows.join('')}</operups></sysinfo>`;
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(xml), 'report/sysinfo.xml');
  zip.addBuffer(randomBytes(mb * 1024 * 1024), 'report/journal.bin', { compress: false });
  zip.end();
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(path)).on('finish', resolve).on('error', reject);
  });
}

/** The mapping the benchmark reads its synthetic archive with. */
export function writeBenchMapping(path: string): void {
  writeFileSync(path, JSON.stringify({ fields: { generatedAt: ['sysinfo/@made'], shellVersion: ['sysinfo/product/@version'], updateNumber: ['sysinfo/update'], operapDate: ['sysinfo/operups/file/@date'] } }));
}

function upload(url: string, file: string, installation: number): Promise<{ ms: number; status: number }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-F', `file=@${file};filename=BENCH${installation}.zip`, `${url}/upload?token=${BENCH_TOKEN(installation)}`], (err, stdout) => {
      if (err && !stdout) return reject(err);
      resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, status: Number(stdout) });
    });
  });
}

function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024, peak: Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024 };
}

/**
 * Uploads of a 20 MB sysinfo archive to the running service: one alone (the
 * time to store and read it), then ten at once from ten installations (the
 * service's peak resident memory meanwhile, from the kernel's high-water mark).
 */
export async function benchUploads(url: string, servicePid: number, dir: string) {
  const archive = join(dir, 'sysinfo.zip');
  await writeBenchArchive(archive, 20);
  const archiveMb = Number((statSync(archive).size / 1024 / 1024).toFixed(1));
  await upload(url, archive, 1); // warm-up
  const single = await upload(url, archive, 2);
  const before = memoryMb(servicePid);
  const started = process.hrtime.bigint();
  const concurrent = await Promise.all(Array.from({ length: 10 }, (_, i) => upload(url, archive, 10 + i)));
  const allMs = Number(process.hrtime.bigint() - started) / 1e6;
  const after = memoryMb(servicePid);
  const failed = [single, ...concurrent].filter((u) => u.status !== 200).length;
  return {
    archiveMb,
    singleMs: Math.round(single.ms),
    concurrent: 10,
    concurrentAllMs: Math.round(allMs),
    concurrentSlowestMs: Math.round(Math.max(...concurrent.map((u) => u.ms))),
    rssBeforeMb: Math.round(before.rss),
    peakRssMb: Math.round(after.peak),
    failed,
  };
}

/**
 * The many-entry archive of issue #26: entries of exactly a mebibyte (so no
 * entry is over the per-entry check's megabyte), each an XML document whose
 * mapped element (`sysinfo/update`) holds a mebibyte of text. With `spread`,
 * the text has a random letter every `spread` characters, so it packs about
 * `spread / 5` times instead of a thousand: an archive that passes every check
 * and is heavy to read.
 */
export async function writeManyEntryArchive(path: string, entries: number, spread?: number): Promise<void> {
  const head = '<sysinfo><update>';
  const tail = '</update></sysinfo>';
  const zip = new yazl.ZipFile();
  for (let i = 0; i < entries; i++) {
    const document = Buffer.alloc(1024 * 1024, 'A');
    document.write(head, 0);
    document.write(tail, document.length - tail.length);
    if (spread) {
      const noise = randomBytes(Math.floor((document.length - head.length - tail.length) / spread));
      for (let j = 0; j < noise.length; j++) document[head.length + j * spread + (noise[j]! % spread)] = 97 + (noise[j]! % 26);
    }
    zip.addBuffer(document, `report/d${i}.xml`);
  }
  zip.end();
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(path)).on('finish', resolve).on('error', reject);
  });
}

/** The kernel's high-water mark of the service's memory starts again from what it holds now (Linux: clear_refs 5). */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Asks /healthz every 50 ms while `work` runs: the longest answer is the longest the service could not answer anyone. */
async function longestStall<T>(url: string, work: Promise<T>): Promise<{ result: T; stallMs: number }> {
  let done = false;
  let worst = 0;
  const probe = async () => {
    while (!done) {
      const started = process.hrtime.bigint();
      await new Promise<void>((resolve) => {
        request(`${url}/healthz`, (res) => {
          res.resume();
          res.on('end', () => resolve());
        })
          .on('error', () => resolve())
          .end();
      });
      worst = Math.max(worst, Number(process.hrtime.bigint() - started) / 1e6);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const probing = probe();
  const result = await work;
  done = true;
  await probing;
  return { result, stallMs: Math.round(worst) };
}

/**
 * Hostile archives, ten at once from ten installations, to the running
 * service: the many-entry archive of the issue (1,000 mebibyte entries that
 * unpack a thousand times their size: refused from its directory), and ten
 * that pass every check but are heavy to read (100 mebibyte documents whose
 * mapped text is a mebibyte each). For each: the statuses, how long, the
 * service's peak resident memory during it, and the longest the service took
 * to answer /healthz meanwhile.
 */
export async function benchHostileUploads(url: string, servicePid: number, dir: string) {
  const bomb = join(dir, 'many-entries.zip');
  const heavy = join(dir, 'heavy.zip');
  await writeManyEntryArchive(bomb, 1000);
  await writeManyEntryArchive(heavy, 100, 600);
  const phase = async (file: string, firstInstallation: number) => {
    const rssBeforeMb = Math.round(memoryMb(servicePid).rss);
    const reset = resetPeak(servicePid);
    const started = process.hrtime.bigint();
    const { result, stallMs } = await longestStall(url, Promise.all(Array.from({ length: 10 }, (_, i) => upload(url, file, firstInstallation + i))));
    return {
      archiveMb: Number((statSync(file).size / 1024 / 1024).toFixed(2)),
      statuses: [...new Set(result.map((u) => u.status))],
      allMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
      rssBeforeMb,
      peakRssMb: Math.round(memoryMb(servicePid).peak),
      peakSinceReset: reset,
      healthzWorstMs: stallMs,
    };
  };
  const manyEntries = await phase(bomb, 100);
  const heavyToRead = await phase(heavy, 200);
  const healthz = await new Promise<number>((resolve) => {
    request(`${url}/healthz`, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', () => resolve(0))
      .end();
  });
  return { manyEntries, heavyToRead, serviceAlive: healthz === 200 };
}
