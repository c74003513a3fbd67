import { watchStandIn } from './russian-words.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDb, openDb } from '../db/open.ts';
import { TelegramStandIn } from '../tools/standin/telegram.ts';
import { dozor } from './cli-helpers.ts';
import { postReport } from './helpers.ts';
import { seedDatabaseFile, startServiceProcess } from './process-helpers.ts';

/**
 * A full disk, for real: the database on a tmpfs of 8 MB, filled up while
 * agents report, freed again, then the process killed and started again.
 * Mounting needs root; where the machine does not allow it, this is skipped
 * (the test says so).
 */
const mountPoint = mkdtempSync(join(tmpdir(), 'dozor-full-disk-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint]).status === 0;
if (!mounted) process.stderr.write(`full-disk test skipped: cannot mount a tmpfs at ${mountPoint} (needs root)\n`);

describe.runIf(mounted)('a full disk', () => {
  const database = join(mountPoint, 'dozor.sqlite');
  const filler = join(mountPoint, 'filler');
  let token = '';
  let standIn: TelegramStandIn;

  beforeAll(async () => {
    standIn = await TelegramStandIn.start();
    watchStandIn(standIn);
    token = await seedDatabaseFile(database);
  });
  afterAll(async () => {
    await standIn.close();
    spawnSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('answers 503 and says so in /healthz while writes fail, recovers when space returns, and loses nothing acknowledged across a kill', async () => {
    const service = await startServiceProcess({
      DATABASE_PATH: database,
      BOT_TOKEN: standIn.token,
      TELEGRAM_API_ROOT: standIn.url,
      CHECK_CRON: '0 0 1 1 *',
      PROBE_CRON: '0 0 1 1 *',
    });
    const accepted: string[] = [];
    let n = 0;
    const report = async () => {
      const id = `disk-${n++}`;
      const res = await postReport(service.url, `<report id="${id}"><storage path="${'\\\\nas\\kodeks\\'.repeat(40)}" reachable="true"/></report>`, { token });
      if (res.status === 202) accepted.push(id);
      return res.status;
    };
    try {
      // Leave the database a little room, then report until it is gone.
      const free = Number(spawnSync('df', ['--output=avail', '-B1', mountPoint], { encoding: 'utf8' }).stdout.split('\n')[1]);
      writeFileSync(filler, Buffer.alloc(Math.max(0, free - 600 * 1024)));
      let status = 202;
      for (let i = 0; i < 5000 && status === 202; i++) status = await report();
      expect(status).toBe(503);
      const health = await fetch(`${service.url}/healthz`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { reason: string }).reason).toMatch(/writes fail \(SQLITE_FULL/);

      // Space comes back: reports are taken again and the health follows.
      unlinkSync(filler);
      for (let i = 0; i < 50 && status !== 202; i++) status = await report();
      expect(status).toBe(202);
      for (let i = 0; i < 20; i++) expect(await report()).toBe(202);
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      // The checkpoint thread, if it failed while the disk was full, is still there and works again.
      if (service.log.some((line) => line.includes('a WAL checkpoint failed'))) {
        for (let i = 0; i < 100 && !service.log.some((line) => line.includes('WAL checkpoints work again')); i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(service.log.some((line) => line.includes('WAL checkpoints work again'))).toBe(true);
      }
    } finally {
      await service.stop('SIGKILL');
    }

    // After the kill: the file is whole and every report answered 202 is in it.
    const sqlite = new Database(database);
    try {
      expect(sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
      const stored = new Set((sqlite.prepare('SELECT report_id FROM reports').pluck().all() as string[]));
      expect(accepted.length).toBeGreaterThan(20);
      expect(accepted.filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      sqlite.close();
    }
  }, 60_000);
});

/** A database on a filesystem mounted read-only (root is not stopped by file permissions, a read-only mount stops everyone). */
const readOnlyMount = mkdtempSync(join(tmpdir(), 'dozor-read-only-'));
const readOnlyMounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', readOnlyMount]).status === 0;

describe.runIf(readOnlyMounted)('a read-only database', () => {
  afterAll(() => {
    spawnSync('umount', ['-l', readOnlyMount]);
    rmSync(readOnlyMount, { recursive: true, force: true });
  });

  it('makes a command line write say what is wrong in one sentence, without a stack trace', () => {
    const database = join(readOnlyMount, 'dozor.sqlite');
    closeDb(openDb(database));
    expect(spawnSync('mount', ['-o', 'remount,ro', readOnlyMount]).status).toBe(0);
    const result = dozor(database, 'user', 'add', '--telegram-id', '5', '--role', 'manager', '--name', 'Тест');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^dozor: cannot open or write the database .*dozor\.sqlite .*read-only for this user or missing/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
