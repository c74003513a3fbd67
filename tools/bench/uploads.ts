import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
